//! InfluxDB 1.x's Holt-Winters forecast (`holt_winters`, `holt_winters_with_fit`): damped
//! triple exponential smoothing whose parameters are fit by Nelder-Mead from a small grid
//! of starting guesses. Ported step by step (including its in-place parameter clamping) so
//! results match bit for bit where possible.

use super::Cfg;
use super::reducers::{Item, Out};
use crate::point::FieldValue;
use kap_dsl::plan::InfluxQLFunc;

const HW_WEIGHT: f64 = 0.5;
const HW_DEFAULT_EPSILON: f64 = 1.0e-4;
const HW_GUESS_LOWER: f64 = 0.3;
const HW_GUESS_UPPER: f64 = 1.0;
const HW_GUESS_STEP: f64 = 0.4;

struct Hw {
    seasonal: bool,
    y: Vec<f64>,
}

/// Forecasts from a bucket's values (in arrival order).
pub(super) fn forecast(cfg: &Cfg, items: &[Item]) -> Vec<Out> {
    let h = cfg.h;
    let m = cfg.m.max(0) as usize;
    let seasonal = cfg.m >= 2;
    let include_fit = cfg.func == InfluxQLFunc::HoltWintersWithFit;
    let interval = cfg.interval;
    let l = items.len();
    if l < 2 || (seasonal && l < m) || h <= 0 || interval <= 0 {
        return Vec::new();
    }
    let half = interval / 2;
    let round = |t: i64| {
        let rem = t % interval;
        if rem > half {
            (t / interval + 1) * interval
        } else {
            (t / interval) * interval
        }
    };
    let pts: Vec<(i64, f64)> = items
        .iter()
        .map(|it| {
            let v = match it.v {
                FieldValue::Float(x) => x,
                FieldValue::Int(i) => i as f64,
                _ => f64::NAN,
            };
            (it.time, v)
        })
        .collect();
    let (start, stop) = (round(pts[0].0), round(pts[l - 1].0));
    if (stop - start) / interval <= 0 {
        return Vec::new();
    }
    let mut y = vec![pts[0].1];
    let mut t = round(pts[0].0);
    for &(pt, v) in &pts[1..] {
        let rt = round(pt);
        if rt <= t {
            continue;
        }
        while rt > t + interval {
            y.push(f64::NAN);
            t += interval;
        }
        y.push(v);
        t = rt;
    }
    if seasonal && y.len() < m {
        // InfluxDB would index past the data here; emit nothing instead.
        return Vec::new();
    }
    let hw = Hw { seasonal, y };
    let y = &hw.y;

    let mut l0 = 0.0;
    if seasonal {
        for v in y.iter().take(m) {
            if !v.is_nan() {
                l0 += (1.0 / m as f64) * v;
            }
        }
    } else {
        l0 += HW_WEIGHT * y[0];
    }
    let mut b0 = 0.0;
    if seasonal {
        let mut i = 0;
        while i < m && m + i < y.len() {
            if !y[i].is_nan() && !y[m + i].is_nan() {
                b0 += 1.0 / (m * m) as f64 * (y[m + i] - y[i]);
            }
            i += 1;
        }
    } else if !y[1].is_nan() {
        b0 = HW_WEIGHT * (y[1] - y[0]);
    }
    let mut s = Vec::new();
    if seasonal {
        for v in y.iter().take(m) {
            s.push(if !v.is_nan() { v / l0 } else { 0.0 });
        }
    }
    let mut params = vec![0.0; 6 + s.len()];
    params[4] = l0;
    params[5] = b0;
    params[6..].copy_from_slice(&s);

    let mut min_sse = f64::INFINITY;
    let mut best: Option<Vec<f64>> = None;
    let mut alpha = HW_GUESS_LOWER;
    while alpha < HW_GUESS_UPPER {
        let mut beta = HW_GUESS_LOWER;
        while beta < HW_GUESS_UPPER {
            let mut gamma = HW_GUESS_LOWER;
            while gamma < HW_GUESS_UPPER {
                let mut phi = HW_GUESS_LOWER;
                while phi < HW_GUESS_UPPER {
                    params[0] = alpha;
                    params[1] = beta;
                    params[2] = gamma;
                    params[3] = phi;
                    let (sse, p) = nelder_mead(|x| hw.sse(x), &params, HW_DEFAULT_EPSILON, 1.0);
                    if sse < min_sse || best.is_none() {
                        min_sse = sse;
                        best = Some(p);
                    }
                    phi += HW_GUESS_STEP;
                }
                gamma += HW_GUESS_STEP;
            }
            beta += HW_GUESS_STEP;
        }
        alpha += HW_GUESS_STEP;
    }
    let Some(mut best) = best else {
        return Vec::new();
    };
    let forecasted = hw.forecast(h as usize, &mut best);
    let mut out = Vec::new();
    if include_fit {
        let start = pts[0].0;
        for (i, v) in forecasted.iter().enumerate() {
            if !v.is_nan() {
                out.push(Out {
                    time: start + interval * i as i64,
                    v: FieldValue::Float(*v),
                    idx: None,
                });
            }
        }
    } else {
        let stop = pts[l - 1].0;
        for (i, v) in forecasted[hw.y.len()..].iter().enumerate() {
            if !v.is_nan() {
                out.push(Out {
                    time: stop + interval * (i as i64 + 1),
                    v: FieldValue::Float(*v),
                    idx: None,
                });
            }
        }
    }
    out
}

impl Hw {
    #[allow(clippy::too_many_arguments)]
    fn next(
        alpha: f64,
        beta: f64,
        gamma: f64,
        phi: f64,
        phi_h: f64,
        y_t: f64,
        l_tp: f64,
        b_tp: f64,
        s_tm: f64,
        s_tmh: f64,
    ) -> (f64, f64, f64, f64) {
        let l_t = alpha * (y_t / s_tm) + (1.0 - alpha) * (l_tp + phi * b_tp);
        let b_t = beta * (l_t - l_tp) + (1.0 - beta) * phi * b_tp;
        let s_t = gamma * (y_t / (l_tp + phi * b_tp)) + (1.0 - gamma) * s_tm;
        let y_th = (l_t + phi_h * b_t) * s_tmh;
        (y_th, l_t, b_t, s_t)
    }

    /// Forecasts `h` points past the data; clamps and updates `params` in place, as
    /// InfluxDB does.
    fn forecast(&self, h: usize, params: &mut [f64]) -> Vec<f64> {
        for p in params.iter_mut().take(4) {
            *p = p.clamp(0.0, 1.0);
        }
        let mut y_t = self.y[0];
        let phi = params[3];
        let mut phi_h = phi;
        let mut l_t = params[4];
        let mut b_t = params[5];
        let (alpha, beta, gamma) = (params[0], params[1], params[2]);
        let m = params.len() - 6;
        let mut so = 0usize;
        if self.seasonal {
            if m == 1 {
                params[6] = 1.0;
            }
            so = m - 1;
        }
        let l = self.y.len();
        let mut forecasted = vec![0.0; l + h];
        forecasted[0] = y_t;
        let (mut stm, mut stmh) = (1.0, 1.0);
        for t in 1..l + h {
            if self.seasonal {
                let hm = t % m;
                // (t - m + so) % m with Go's truncated remainder on non-negative values.
                stm = params[6 + (t + so - m) % m];
                stmh = params[6 + (t + hm + so - m) % m];
            }
            let s_t;
            (y_t, l_t, b_t, s_t) =
                Hw::next(alpha, beta, gamma, phi, phi_h, y_t, l_t, b_t, stm, stmh);
            phi_h += go_pow_int(phi, t as u64);
            if self.seasonal {
                params[6 + (t + so) % m] = s_t;
                so += 1;
            }
            forecasted[t] = y_t;
        }
        forecasted
    }

    fn sse(&self, params: &mut [f64]) -> f64 {
        let mut sse = 0.0;
        let forecasted = self.forecast(0, params);
        for (i, f) in forecasted.iter().enumerate() {
            if !self.y[i].is_nan() {
                if f.is_nan() {
                    return f64::INFINITY;
                }
                let diff = f - self.y[i];
                sse += diff * diff;
            }
        }
        sse
    }
}

/// InfluxDB's Nelder-Mead minimizer (`pkg/estimator/neldermead`), ported loop for loop.
#[allow(clippy::needless_range_loop)]
fn nelder_mead(
    mut objfunc: impl FnMut(&mut [f64]) -> f64,
    start: &[f64],
    epsilon: f64,
    scale: f64,
) -> (f64, Vec<f64>) {
    const MAX_ITERATIONS: usize = 1000;
    const ALPHA: f64 = 1.0;
    const BETA: f64 = 0.5;
    const GAMMA: f64 = 2.0;
    let n = start.len();
    let nf = n as f64;
    let mut v = vec![vec![0.0; n]; n + 1];
    let mut f = vec![0.0; n + 1];
    let mut vr = vec![0.0; n];
    let mut ve = vec![0.0; n];
    let mut vc = vec![0.0; n];
    let mut vm = vec![0.0; n];
    let pn = scale * ((nf + 1.0).sqrt() - 1.0 + nf) / (nf * 2f64.sqrt());
    let qn = scale * ((nf + 1.0).sqrt() - 1.0) / (nf * 2f64.sqrt());
    v[0].copy_from_slice(start);
    for i in 1..=n {
        for j in 0..n {
            v[i][j] = if i - 1 == j {
                pn + start[j]
            } else {
                qn + start[j]
            };
        }
    }
    for j in 0..=n {
        f[j] = objfunc(&mut v[j]);
    }
    for _ in 1..=MAX_ITERATIONS {
        let mut vg = 0;
        let mut vs = 0;
        for i in 0..=n {
            if f[i] > f[vg] {
                vg = i;
            }
            if f[i] < f[vs] {
                vs = i;
            }
        }
        let mut vh = vs;
        for i in 0..=n {
            if f[i] > f[vh] && f[i] < f[vg] {
                vh = i;
            }
        }
        for i in 0..n {
            let mut cent = 0.0;
            for (m, row) in v.iter().enumerate() {
                if m != vg {
                    cent += row[i];
                }
            }
            vm[i] = cent / nf;
        }
        for i in 0..n {
            vr[i] = vm[i] + ALPHA * (vm[i] - v[vg][i]);
        }
        let fr = objfunc(&mut vr);
        if fr < f[vh] && fr >= f[vs] {
            v[vg].copy_from_slice(&vr);
            f[vg] = fr;
        }
        if fr < f[vs] {
            for i in 0..n {
                ve[i] = vm[i] + GAMMA * (vr[i] - vm[i]);
            }
            let fe = objfunc(&mut ve);
            if fe < fr {
                v[vg].copy_from_slice(&ve);
                f[vg] = fe;
            } else {
                v[vg].copy_from_slice(&vr);
                f[vg] = fr;
            }
        }
        if fr >= f[vh] {
            if fr < f[vg] && fr >= f[vh] {
                for i in 0..n {
                    vc[i] = vm[i] + BETA * (vr[i] - vm[i]);
                }
            } else {
                for i in 0..n {
                    vc[i] = vm[i] - BETA * (vm[i] - v[vg][i]);
                }
            }
            let fc = objfunc(&mut vc);
            if fc < f[vg] {
                v[vg].copy_from_slice(&vc);
                f[vg] = fc;
            } else {
                let base = v[vs].clone();
                for (row, vrow) in v.iter_mut().enumerate() {
                    if row != vs {
                        for i in 0..n {
                            vrow[i] = base[i] + (vrow[i] - base[i]) / 2.0;
                        }
                    }
                }
                f[vg] = objfunc(&mut v[vg]);
                f[vh] = objfunc(&mut v[vh]);
            }
        }
        let fsum: f64 = f.iter().sum();
        let favg = fsum / (nf + 1.0);
        let mut s = 0.0;
        for fi in &f {
            s += (fi - favg) * (fi - favg) / nf;
        }
        if s.sqrt() < epsilon {
            break;
        }
    }
    let mut vs = 0;
    for i in 0..=n {
        if f[i] < f[vs] {
            vs = i;
        }
    }
    let params = v[vs].clone();
    let min = objfunc(&mut v[vs]);
    (min, params)
}

/// Go's `math.Pow(x, float64(n))` for a non-negative integer exponent: repeated squaring
/// on the frexp mantissa (its rounding differs from a correctly rounded `pow`).
fn go_pow_int(x: f64, n: u64) -> f64 {
    if n == 0 || x == 1.0 {
        return 1.0;
    }
    if n == 1 {
        return x;
    }
    if x.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x.powf(n as f64);
    }
    let mut a1 = 1.0;
    let mut ae: i32 = 0;
    let (mut x1, mut xe) = libm::frexp(x);
    let mut i = n;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    libm::ldexp(a1, ae)
}
