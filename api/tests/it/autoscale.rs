//! Autoscale nodes against a Kubernetes API and a Docker API on 127.0.0.1 that keep their
//! resources' replicas: the counts the daemon reads and sets, the requests it sends (token,
//! the scale object, the service's version), the event points, the node's counters, and
//! the configurations and scripts it refuses.

use crate::daemon::{Daemon, Extra, refuses_config, wait_for};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A cluster API: resources by name with their replicas, and the requests received
/// (`METHOD path`, the `Authorization` header, the body).
#[derive(Clone, Default)]
pub(crate) struct Api {
    replicas: Arc<Mutex<HashMap<String, i64>>>,
    version: Arc<Mutex<u64>>,
    pub(crate) requests: Arc<Mutex<Vec<(String, String, String)>>>,
    /// Answers to `GET`s of these paths (Kubernetes' lists, for discovery).
    pub(crate) lists: Arc<Mutex<HashMap<String, Json>>>,
}

impl Api {
    pub(crate) fn start(resources: &[(&str, i64)]) -> (Api, String) {
        let api = Api::default();
        api.replicas
            .lock()
            .unwrap()
            .extend(resources.iter().map(|(k, v)| (k.to_string(), *v)));
        *api.version.lock().unwrap() = 7;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let a = api.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let a = a.clone();
                std::thread::spawn(move || {
                    let mut r = BufReader::new(stream.try_clone().unwrap());
                    loop {
                        let mut first = String::new();
                        if r.read_line(&mut first).unwrap_or(0) == 0 {
                            return;
                        }
                        let (mut auth, mut len, mut line) = (String::new(), 0, String::new());
                        while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                            if lower.starts_with("authorization:") {
                                auth = line["authorization:".len()..].trim().to_string();
                            }
                            line.clear();
                        }
                        let mut body = vec![0; len];
                        r.read_exact(&mut body).unwrap();
                        let body = String::from_utf8(body).unwrap();
                        let mut it = first.split(' ');
                        let (method, path) = (it.next().unwrap(), it.next().unwrap());
                        a.requests.lock().unwrap().push((
                            format!("{method} {path}"),
                            auth,
                            body.clone(),
                        ));
                        let (status, answer) = a.answer(method, path, &body);
                        let mut w = &stream;
                        let _ = write!(
                            w,
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                    }
                });
            }
        });
        (api, url)
    }

    fn answer(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        if let Some(list) = self
            .lists
            .lock()
            .unwrap()
            .get(path)
            .filter(|_| method == "GET")
        {
            return (200, list.to_string());
        }
        let segs: Vec<&str> = path.split('?').next().unwrap().split('/').collect();
        let mut replicas = self.replicas.lock().unwrap();
        let missing = (404, json!({"message": "not found"}).to_string());
        match (method, segs.as_slice()) {
            (
                "GET",
                [
                    "",
                    "apis",
                    "apps",
                    "v1",
                    "namespaces",
                    ns,
                    kind,
                    name,
                    "scale",
                ],
            ) => {
                let Some(n) = replicas.get(*name) else {
                    return missing;
                };
                let scale = json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {"name": name, "namespace": ns, "resourceVersion": "12", "uid": kind},
                    "spec": {"replicas": n}, "status": {"replicas": n}});
                (200, scale.to_string())
            }
            ("PUT", ["", "apis", "apps", "v1", "namespaces", _, _, name, "scale"]) => {
                let scale: Json = serde_json::from_str(body).unwrap();
                replicas.insert(
                    name.to_string(),
                    scale["spec"]["replicas"].as_i64().unwrap(),
                );
                (200, body.to_string())
            }
            // The EC2 instance metadata service (IMDSv2): a session token, then the role's
            // temporary keys.
            ("PUT", ["", "latest", "api", "token"]) => (200, "imds-token".into()),
            (
                "GET",
                [
                    "",
                    "latest",
                    "meta-data",
                    "iam",
                    "security-credentials",
                    role,
                ],
            ) => {
                if role.is_empty() {
                    (200, "kapacitor-role".into())
                } else {
                    let expires = chrono::Utc::now() + chrono::TimeDelta::hours(1);
                    (
                        200,
                        json!({"Code": "Success", "AccessKeyId": "ASIAROLE",
                        "SecretAccessKey": "role-secret", "Token": "role-session",
                        "Expiration": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
                        .to_string(),
                    )
                }
            }
            // Kubernetes' and Docker's version (the service tests).
            ("GET", ["", "version"]) => (200, json!({"major": "1", "Version": "27.0"}).to_string()),
            ("GET", ["", "services", name]) => {
                let Some(n) = replicas.get(*name) else {
                    return missing;
                };
                let service = json!({"ID": format!("id-{name}"),
                    "Version": {"Index": *self.version.lock().unwrap()},
                    "Spec": {"Name": name, "Labels": {"a": "b"}, "Mode": {"Replicated": {"Replicas": n}}}});
                (200, service.to_string())
            }
            // AWS's Auto Scaling API: the action and its parameters are the form body.
            ("POST", ["", ""]) => {
                let param = |k: &str| {
                    body.split('&')
                        .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                        .unwrap_or("")
                        .to_string()
                };
                match param("Action").as_str() {
                    "DescribeAutoScalingGroups" => {
                        let name = param("AutoScalingGroupNames.member.1");
                        let members = replicas.get(&name).map_or(String::new(), |n| {
                            format!("<member><AutoScalingGroupName>{name}</AutoScalingGroupName><MinSize>0</MinSize><DesiredCapacity>{n}</DesiredCapacity></member>")
                        });
                        (
                            200,
                            format!(
                                "<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><DescribeAutoScalingGroupsResult><AutoScalingGroups>{members}</AutoScalingGroups></DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>"
                            ),
                        )
                    }
                    // EC2's instances, in two pages: a terminated one (no address),
                    // then one at 127.0.0.1.
                    "DescribeInstances" => {
                        let xmlns = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";
                        let page = if param("NextToken").is_empty() {
                            "<reservationSet><item><ownerId>1</ownerId><instancesSet><item><instanceId>i-old</instanceId><instanceState><name>terminated</name></instanceState></item></instancesSet></item></reservationSet><nextToken>p2</nextToken>"
                        } else {
                            "<reservationSet><item><ownerId>1</ownerId><instancesSet><item><instanceId>i-web</instanceId><instanceState><name>running</name></instanceState><privateIpAddress>127.0.0.1</privateIpAddress><tagSet><item><key>Name</key><value>web</value></item></tagSet></item></instancesSet></item></reservationSet>"
                        };
                        (
                            200,
                            format!(
                                "<DescribeInstancesResponse {xmlns}>{page}</DescribeInstancesResponse>"
                            ),
                        )
                    }
                    "SetDesiredCapacity" => {
                        let n: i64 = param("DesiredCapacity").parse().unwrap();
                        if n > 50 {
                            return (400, "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>New SetDesiredCapacity value 99 is above max value 50 for the AutoScalingGroup.</Message></Error></ErrorResponse>".into());
                        }
                        replicas.insert(param("AutoScalingGroupName"), n);
                        (200, "<SetDesiredCapacityResponse/>".into())
                    }
                    _ => missing,
                }
            }
            ("POST", ["", "services", id, "update"]) => {
                let spec: Json = serde_json::from_str(body).unwrap();
                let name = id.trim_start_matches("id-").to_string();
                replicas.insert(
                    name,
                    spec["Mode"]["Replicated"]["Replicas"].as_i64().unwrap(),
                );
                *self.version.lock().unwrap() += 1;
                (200, json!({"Warnings": null}).to_string())
            }
            _ => missing,
        }
    }

    fn replicas(&self, name: &str) -> i64 {
        self.replicas.lock().unwrap()[name]
    }
}

fn daemon(name: &str, sections: String) -> Daemon {
    Daemon::start_config(
        name,
        Extra {
            tail: sections,
            ..Extra::default()
        },
    )
}

/// The `(old, new)` of the last event of resource `tag` = `value` in httpOut `out`, with
/// the event's tags.
fn last_event(d: &Daemon, task: &str, tag: &str, value: &str) -> Option<(i64, i64, Json)> {
    let out = d.json(&format!("/kapacitor/v1/tasks/{task}/out"));
    let series = out["series"].as_array()?;
    let s = series.iter().find(|s| s["tags"][tag] == value)?;
    let cols = s["columns"].as_array()?;
    let at = |c: &str| cols.iter().position(|x| x == c).unwrap();
    let row = s["values"].as_array()?.last()?.clone();
    Some((
        row[at("old")].as_i64()?,
        row[at("new")].as_i64()?,
        s["tags"].clone(),
    ))
}

#[test]
fn k8s_autoscale_reads_and_sets_the_scale_of_deployments() {
    let (api, url) = Api::start(&[("web", 1), ("db", 4)]);
    let d = daemon(
        "autoscale_k8s",
        format!(
            "[[kubernetes]]\n  enabled = true\n  id = \"prod\"\n  api-servers = [\"http://127.0.0.1:1\", \"{url}\"]\n  token = \"s3cret\"\n"
        ),
    );
    d.enable_task(
        "k8s",
        "stream\n    |from()\n        .measurement('scale')\n        .groupBy('deployment')\n    |k8sAutoscale()\n        .cluster('prod')\n        .namespace('apps')\n        .resourceNameTag('deployment')\n        .replicas(lambda: int(\"want\"))\n        .max(10)\n    |httpOut('out')\n",
    );
    d.write_s("scale,deployment=web want=3 1\nscale,deployment=db want=4 1\nscale,deployment=web want=30 2\n");
    wait_for(10, "web's event of its scale to 10", || {
        last_event(&d, "k8s", "deployment", "web").is_some_and(|e| e.1 == 10)
    });
    assert_eq!(api.replicas("web"), 10);
    let (old, new, tags) = last_event(&d, "k8s", "deployment", "web").expect("an event");
    assert_eq!((old, new), (3, 10));
    assert_eq!(
        tags,
        json!({"deployment": "web", "kind": "deployments", "namespace": "apps", "resource": "web"})
    );
    // db asked for what it has: read once, never set.
    assert_eq!(api.replicas("db"), 4);
    assert!(last_event(&d, "k8s", "deployment", "db").is_none());
    let requests = api.requests.lock().unwrap().clone();
    let lines: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    let scale = "/apis/apps/v1/namespaces/apps/deployments";
    assert_eq!(
        lines,
        [
            format!("GET {scale}/web/scale"),
            format!("GET {scale}/web/scale"),
            format!("PUT {scale}/web/scale"),
            format!("GET {scale}/db/scale"),
            format!("GET {scale}/web/scale"),
            format!("PUT {scale}/web/scale"),
        ]
    );
    assert!(
        requests.iter().all(|r| r.1 == "Bearer s3cret"),
        "{requests:?}"
    );
    // The scale object goes back as read, with the new count.
    let put: Json = serde_json::from_str(&requests[2].2).unwrap();
    assert_eq!(put["spec"]["replicas"], 3);
    assert_eq!(put["metadata"]["resourceVersion"], "12");
    let stats = d.json("/kapacitor/v1/tasks/k8s");
    let node = &stats["stats"]["node-stats"]["k8s_autoscale2"];
    assert_eq!(node["increase_events"], 2, "{node}");
    assert_eq!(node["errors"], 0, "{node}");
    // The service test asks the cluster for its version.
    assert_eq!(
        service_test(&d, "kubernetes", json!({"id": "prod"})),
        json!({"success": true, "message": ""})
    );
    assert_eq!(
        api.requests.lock().unwrap().last().unwrap().0,
        "GET /version"
    );
    assert_eq!(
        service_test(&d, "kubernetes", json!({"id": "nope"})),
        json!({"success": false, "message": "failed to get client: unknown kubernetes cluster \"nope\", cannot get client"})
    );
}

/// `POST /service-tests/<service>` with `options`: its answer.
fn service_test(d: &Daemon, service: &str, options: Json) -> Json {
    let (status, body) = d.req(
        "POST",
        &format!("/kapacitor/v1/service-tests/{service}"),
        Some(&options.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn swarm_autoscale_updates_the_service_at_its_version() {
    let (api, url) = Api::start(&[("api", 2)]);
    let d = daemon(
        "autoscale_swarm",
        format!("[[swarm]]\n  enabled = true\n  id = \"swarm1\"\n  servers = [\"{url}\"]\n"),
    );
    d.enable_task(
        "sw",
        "stream\n    |from()\n        .measurement('scale')\n        .groupBy('service')\n    |swarmAutoscale()\n        .serviceNameTag('service')\n        .outputServiceNameTag('svc')\n        .replicas(lambda: int(\"want\"))\n        .min(1)\n        .decreaseCooldown(1m)\n    |httpOut('out')\n",
    );
    // 2 → 5, then 5 → 3, then a decrease within the minute's cooldown: dropped; a service
    // the cluster does not have: an error.
    d.write_s("scale,service=api want=5 1\nscale,service=api want=3 2\nscale,service=api want=2 3\nscale,service=nope want=3 3\n");
    wait_for(10, "the dropped decrease counted", || {
        let s = d.json("/kapacitor/v1/tasks/sw");
        let n = &s["stats"]["node-stats"]["swarm_autoscale2"];
        n["cooldown_drops"] == 1 && n["errors"] == 1
    });
    assert_eq!(api.replicas("api"), 3);
    let (old, new, tags) = last_event(&d, "sw", "service", "api").expect("an event");
    assert_eq!((old, new), (5, 3));
    assert_eq!(tags, json!({"service": "api", "svc": "api"}));
    let requests = api.requests.lock().unwrap().clone();
    let updates: Vec<(String, Json)> = requests
        .iter()
        .filter(|r| r.0.starts_with("POST"))
        .map(|r| (r.0.clone(), serde_json::from_str(&r.2).unwrap()))
        .collect();
    assert_eq!(updates.len(), 2, "{requests:?}");
    assert_eq!(updates[0].0, "POST /services/id-api/update?version=7");
    assert_eq!(updates[1].0, "POST /services/id-api/update?version=8");
    // The spec goes back whole, with the new count.
    assert_eq!(updates[0].1["Labels"], json!({"a": "b"}));
    assert_eq!(updates[0].1["Mode"]["Replicated"]["Replicas"], 5);
    assert_eq!(updates[1].1["Mode"]["Replicated"]["Replicas"], 3);
    // One cluster: the service test's default id (empty) picks it.
    assert_eq!(
        service_test(&d, "swarm", json!({})),
        json!({"success": true, "message": ""})
    );
    d.wait_log_line("the missing service", |l| {
        l.contains("failed to get swarm service for \\\"nope\\\"") && l.contains("404")
    });
}

#[test]
fn ec2_autoscale_sets_the_desired_capacity_with_signed_requests() {
    let (api, url) = Api::start(&[("asg-web", 2)]);
    let d = daemon(
        "autoscale_ec2",
        format!(
            "[[ec2]]\n  enabled = true\n  id = \"aws\"\n  region = \"eu-west-1\"\n  access-key = \"AKIDEXAMPLE\"\n  secret-key = \"s3cret\"\n  endpoint = \"{url}\"\n"
        ),
    );
    d.enable_task(
        "e",
        "stream\n    |from()\n        .measurement('scale')\n        .groupBy('asg')\n    |ec2Autoscale()\n        .cluster('aws')\n        .groupNameTag('asg')\n        .outputGroupNameTag('group')\n        .replicas(lambda: int(\"want\"))\n    |httpOut('out')\n",
    );
    // 2 → 4, then 99: the API refuses it (above the group's maximum), an error.
    d.write_s("scale,asg=asg-web want=4 1\nscale,asg=asg-web want=99 2\n");
    wait_for(10, "the refused capacity logged", || {
        let n = &d.json("/kapacitor/v1/tasks/e")["stats"]["node-stats"]["ec2_autoscale2"];
        n["errors"] == 1 && n["increase_events"] == 1
    });
    d.wait_log_line("the refusal", |l| {
        l.contains(
            "SetDesiredCapacity: HTTP status 400: ValidationError: New SetDesiredCapacity value 99",
        )
    });
    assert_eq!(api.replicas("asg-web"), 4);
    let (old, new, tags) = last_event(&d, "e", "asg", "asg-web").expect("an event");
    assert_eq!((old, new), (2, 4));
    assert_eq!(tags, json!({"asg": "asg-web", "group": "asg-web"}));
    let requests = api.requests.lock().unwrap().clone();
    let bodies: Vec<&str> = requests.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "Action=DescribeAutoScalingGroups&AutoScalingGroupNames.member.1=asg-web&Version=2011-01-01",
            "Action=SetDesiredCapacity&AutoScalingGroupName=asg-web&DesiredCapacity=4&HonorCooldown=true&Version=2011-01-01",
            "Action=SetDesiredCapacity&AutoScalingGroupName=asg-web&DesiredCapacity=99&HonorCooldown=true&Version=2011-01-01",
        ]
    );
    assert_eq!(
        service_test(&d, "ec2", json!({"id": "aws"})),
        json!({"success": true, "message": ""})
    );
    assert_eq!(
        api.requests.lock().unwrap().last().unwrap().2,
        "Action=DescribeAutoScalingGroups&MaxRecords=1&Version=2011-01-01"
    );
    for (line, auth, _) in &requests {
        assert_eq!(line, "POST /");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && auth.contains("/eu-west-1/autoscaling/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="),
            "{auth}"
        );
    }
}

#[test]
fn ec2_autoscale_signs_with_the_instance_role_s_keys_without_others() {
    let (api, url) = Api::start(&[("asg", 1)]);
    let home = crate::tempdir("autoscale_imds_home");
    let d = Daemon::start_config(
        "autoscale_imds",
        Extra {
            tail: format!("[[ec2]]\n  enabled = true\n  id = \"aws\"\n  endpoint = \"{url}\"\n"),
            env: vec![
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), url.clone()),
                ("HOME".into(), home.to_string_lossy().into_owned()),
                ("AWS_ACCESS_KEY_ID".into(), String::new()),
                ("AWS_PROFILE".into(), String::new()),
            ],
            ..Extra::default()
        },
    );
    assert_eq!(
        service_test(&d, "ec2", json!({"id": "aws"})),
        json!({"success": true, "message": ""})
    );
    let requests = api.requests.lock().unwrap().clone();
    let lines: Vec<&str> = requests.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        lines,
        [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/kapacitor-role",
            "POST /",
        ]
    );
    let signed = &requests[3].1;
    assert!(
        signed.starts_with("AWS4-HMAC-SHA256 Credential=ASIAROLE/")
            && signed.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
        "{signed}"
    );
    // The keys are kept until shortly before they expire: a second call asks only the API.
    assert_eq!(
        service_test(&d, "ec2", json!({"id": "aws"})),
        json!({"success": true, "message": ""})
    );
    assert_eq!(api.requests.lock().unwrap().len(), 5);
}

#[test]
fn a_cluster_that_cannot_be_reached_is_left_alone_for_a_while() {
    // Nothing listens on port 1: the first point's request fails, the next ones fail at
    // once without asking, each an error of the node.
    let d = daemon(
        "autoscale_down",
        "[[kubernetes]]\n  enabled = true\n  api-servers = [\"http://127.0.0.1:1\"]\n".into(),
    );
    d.enable_task(
        "k",
        "stream\n    |from()\n        .measurement('scale')\n        .groupBy('deployment')\n    |k8sAutoscale()\n        .resourceNameTag('deployment')\n        .replicas(lambda: int(\"want\"))\n    |httpOut('out')\n",
    );
    d.write_s(
        "scale,deployment=a want=3 1\nscale,deployment=b want=3 1\nscale,deployment=c want=3 1\n",
    );
    wait_for(10, "three errors", || {
        d.json("/kapacitor/v1/tasks/k")["stats"]["node-stats"]["k8s_autoscale2"]["errors"] == 3
    });
    let line = d.wait_log_line("a request not made", |l| {
        l.contains("not asking the cluster again for") && l.contains("127.0.0.1:1")
    });
    assert!(line.contains("/deployments/"), "{line}");
    // EC2 without credentials anywhere (no instance metadata service either): the same.
    let home = crate::tempdir("autoscale_down_home");
    let d = Daemon::start_config(
        "autoscale_down_ec2",
        Extra {
            tail:
                "[[ec2]]\n  enabled = true\n  id = \"aws\"\n  endpoint = \"http://127.0.0.1:1\"\n"
                    .into(),
            env: vec![
                (
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT".into(),
                    "http://127.0.0.1:1".into(),
                ),
                ("HOME".into(), home.to_string_lossy().into_owned()),
                ("AWS_ACCESS_KEY_ID".into(), String::new()),
            ],
            ..Extra::default()
        },
    );
    let first = service_test(&d, "ec2", json!({}));
    let message = first["message"].as_str().unwrap();
    assert!(
        message.contains("no access-key, no AWS_ACCESS_KEY_ID")
            && message.contains("the instance metadata service"),
        "{first}"
    );
    let second = service_test(&d, "ec2", json!({}));
    assert!(
        second["message"]
            .as_str()
            .unwrap()
            .contains("not asking the cluster again for"),
        "{second}"
    );
}

#[test]
fn a_task_naming_an_unknown_cluster_does_not_start_and_bad_sections_stop_the_daemon() {
    let d = Daemon::start("autoscale_unknown");
    let task = json!({
        "id": "k", "type": "stream", "dbrps": [{"db": "mydb", "rp": "myrp"}],
        "script": "stream|from()|k8sAutoscale().cluster('nope').resourceName('web').replicas(lambda: 2)",
        "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 500, "{body}");
    assert!(
        body.contains(
            "cannot use the k8sAutoscale node, could not create kubernetes client: unknown kubernetes cluster \\\"nope\\\", cannot get client"
        ),
        "{body}"
    );
    let dir = crate::tempdir("autoscale_bad_config");
    refuses_config(
        &dir,
        "[[kubernetes]]\n  enabled = true\n  in-cluster = true\n  api-servers = [\"http://k:8001\"]\n",
        "in-cluster specified, cannot specify api-servers or token",
    );
    refuses_config(
        &dir,
        "[kubernetes]\n  enabled = true\n",
        "no api-servers specified, must provide at least one server URL",
    );
    refuses_config(
        &dir,
        "[[swarm]]\n  enabled = true\n  id = \"s\"\n",
        "must specify at least one docker swarm server URL",
    );
    refuses_config(
        &dir,
        "[[ec2]]\n  enabled = true\n  id = \"a\"\n  access-key = \"k\"\n",
        "access-key and secret-key go together",
    );
}

#[test]
fn clusters_added_and_changed_through_config_serve_autoscale_nodes_at_once() {
    let (first, first_url) = Api::start(&[("web", 1)]);
    let (second, second_url) = Api::start(&[("api", 2)]);
    let d = Daemon::start("autoscale_config");
    let add =
        json!({"add": {"id": "c1", "enabled": true, "api-servers": [first_url], "token": "t1"}});
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/kubernetes",
        Some(&add.to_string()),
    );
    assert_eq!(status, 204, "{body}");
    let shown = d.json("/kapacitor/v1/config/kubernetes/c1");
    assert_eq!(shown["options"]["token"], true, "{shown}");
    assert_eq!(shown["redacted"], json!(["token"]));
    d.enable_task(
        "k",
        "stream\n    |from()\n        .measurement('scale')\n        .groupBy('deployment')\n    |k8sAutoscale()\n        .cluster('c1')\n        .resourceNameTag('deployment')\n        .replicas(lambda: int(\"want\"))\n    |httpOut('out')\n",
    );
    d.write_s("scale,deployment=web want=3 1\n");
    wait_for(10, "web scaled on the first server", || {
        first.replicas("web") == 3
    });
    // The cluster moves to the second server: the next resource is read and set there.
    let set = json!({"set": {"api-servers": [second_url]}});
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/kubernetes/c1",
        Some(&set.to_string()),
    );
    assert_eq!(status, 204, "{body}");
    d.write_s("scale,deployment=api want=4 2\n");
    wait_for(10, "api scaled on the second server", || {
        second.replicas("api") == 4
    });
    let requests = second.requests.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r.1 == "Bearer t1"), "{requests:?}");
    // A change that does not check out is refused and changes nothing.
    let bad = json!({"set": {"in-cluster": true}});
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/kubernetes/c1",
        Some(&bad.to_string()),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("in-cluster specified"), "{body}");
}
