//! `vet` and `fmt` behaviour: exit codes, flags in both styles, `--write`.

use crate::{run, tempdir};

#[test]
fn vet_reports_misspelled_property_with_line_and_suggestion() {
    let dir = tempdir("misspelled");
    let f = dir.join("cpu.tick");
    std::fs::write(
        &f,
        "stream\n    |from()\n        .measurment('cpu')\n    |httpOut('x')\n",
    )
    .unwrap();
    let (code, out, err) = run(&["vet", f.to_str().unwrap()]);
    assert_eq!(code, 3, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("cpu.tick:3:10"), "{err}");
    assert!(err.contains("did you mean `measurement`?"), "{err}");
    assert!(err.contains("^^^^^^^^^^"), "{err}");
}

#[test]
fn vet_accepts_good_scripts_and_the_seed_form() {
    let dir = tempdir("good");
    let f = dir.join("ok.tick");
    std::fs::write(&f, "stream|from().measurement('cpu')|httpOut('x')").unwrap();
    let s = dir.join("seed.tick");
    std::fs::write(&s, "alert(avg(window(value, 10)), <, 30)\n").unwrap();
    let (code, out, err) = run(&["vet", f.to_str().unwrap(), s.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok.tick: ok (stream task"), "{out}");
    assert!(out.contains("seed.tick: ok (stream task"), "{out}");
}

#[test]
fn vet_type_flag_in_both_styles() {
    let dir = tempdir("type");
    let f = dir.join("b.tick");
    std::fs::write(&f, "stream|from()|httpOut('x')").unwrap();
    for flag in ["-type", "--type"] {
        let (code, _, err) = run(&["vet", flag, "batch", f.to_str().unwrap()]);
        assert_eq!(code, 3, "{flag}: {err}");
        assert!(
            err.contains("`stream` is not available in a batch task"),
            "{err}"
        );
    }
    let (code, _, _) = run(&["vet", "-type", "stream", f.to_str().unwrap()]);
    assert_eq!(code, 0);
}

#[test]
fn fmt_prints_and_writes_canonical_form() {
    let dir = tempdir("fmt");
    let f = dir.join("a.tick");
    let src = "stream|from().measurement('cpu')|window().period(10s).every(10s)|mean('usage_idle')\n// alert\n  .as('m')|alert().crit(lambda:\"m\"<10.0 AND \"host\"=='a')";
    std::fs::write(&f, src).unwrap();
    let expected = "stream\n    |from()\n        .measurement('cpu')\n    |window()\n        .period(10s)\n        .every(10s)\n    |mean('usage_idle')\n        // alert\n        .as('m')\n    |alert()\n        .crit(lambda: \"m\" < 10.0 AND \"host\" == 'a')\n";
    let (code, out, err) = run(&["fmt", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, expected);
    let (code, out, _) = run(&["fmt", "-write", f.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (0, ""));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), expected);
}

#[test]
fn fmt_leaves_a_broken_file_untouched() {
    let dir = tempdir("broken");
    let f = dir.join("bad.tick");
    std::fs::write(&f, "stream|from(\n").unwrap();
    let (code, _, err) = run(&["fmt", "--write", f.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("bad.tick:"), "{err}");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "stream|from(\n");
}

#[test]
fn usage_errors_exit_1_or_2() {
    // A known sub-command with bad arguments is Kapacitor's sub-command usage error (2).
    let (code, _, _) = run(&["vet"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(&["frobnicate"]);
    assert_eq!(code, 1);
}
