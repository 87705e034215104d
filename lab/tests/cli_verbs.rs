//! The verbs that need no lab: validate, vocabulary, plan, image ls/rm. And the rule that
//! keeps every verb tested: each verb `halab --help` lists is run by some test file.

mod common;

use common::*;

#[test]
fn validate_says_ok_for_shipped_files_and_exits_2_with_the_position_otherwise() {
    for (file, words) in [
        ("../topologies/fw-pair.yaml", "ok (3 networks, 4 nodes)"),
        ("../scenarios/fence-race.yaml", "ok (scenario fence-race, 6 steps, 2 expectations"),
        // The inputs of reports/fencing-libvirt (README), kept valid.
        ("tests/data/fenced-vms.yaml", "ok (3 networks, 4 nodes)"),
        ("tests/data/fenced-crash-vms.yaml", "ok (scenario fenced-crash-vms, 6 steps, 3 expectations"),
    ] {
        let o = halab(&["validate", file]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && out.contains(words), "{file}: {out}{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = halab(&["validate", "tests/data/bad/unknown-node.yaml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("unknown-node.yaml:7:17:") && err.contains("unknown node `ghost`"), "{err}");
}

#[test]
fn vocabulary_lists_every_fault_traffic_and_condition() {
    let v = ok(&["vocabulary"]);
    for verb in halab::scenario::faults::VERBS {
        assert!(v.contains(&format!("`{}`", verb.name)), "fault `{}` missing from the vocabulary", verb.name);
    }
    for word in ["`probe`", "`capture`", "`scp`", "`iperf3`", "`ab`", "`service`", "`vip_moved`", "`ready`"] {
        assert!(v.contains(word), "{word} missing:\n{v}");
    }
}

#[test]
fn plan_prints_every_decision_and_name_changes_ids_not_addresses() {
    let p: serde_json::Value = serde_json::from_str(&ok(&["plan", "../topologies/fw-pair.yaml", "--json"])).unwrap();
    assert_eq!(p["lab"], "fw-pair");
    let nodes = p["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    let client = nodes.iter().find(|n| n["name"] == "client").unwrap();
    let text = client.to_string();
    assert!(text.contains("198.18.1.10") && text.contains("\"mac\""), "addresses and MACs are decided: {text}");
    let q: serde_json::Value = serde_json::from_str(&ok(&["plan", "../topologies/fw-pair.yaml", "--json", "--name", "other"])).unwrap();
    assert_eq!(q["lab"], "other");
    assert_ne!(q["id"], p["id"], "another name, another short id");
    assert_ne!(q["nodes"][0]["interfaces"][0]["mac"], p["nodes"][0]["interfaces"][0]["mac"]);
    assert_eq!(q["nodes"][0]["interfaces"][0]["address"], p["nodes"][0]["interfaces"][0]["address"]);
    let yaml = ok(&["plan", "../topologies/fw-pair.yaml"]);
    assert!(yaml.starts_with("lab: fw-pair\n") && yaml.contains("subnet: 198.18.2.0/24"), "{yaml}");
    let o = halab(&["plan", "tests/data/bad/unknown-node.yaml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn image_ls_lists_the_built_image_and_rm_of_an_unknown_one_is_refused() {
    if !privileged() {
        return;
    }
    ok(&["image", "build"]);
    let ls = ok(&["image", "ls"]);
    assert!(ls.contains("debian-trixie-ha"), "{ls}");
    let o = halab(&["image", "rm", "no-such-image"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no cached image `no-such-image`"));
    assert_eq!(ok(&["image", "ls"]), ls, "nothing was removed");
}

/// Every verb of `halab --help` is run by a test: `["verb"` appears in some test file.
#[test]
fn every_verb_has_a_test_that_runs_it() {
    let help = ok(&["--help"]);
    let verbs: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .collect();
    assert!(verbs.len() >= 20, "{verbs:?}");
    let tests: String = std::fs::read_dir("tests")
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    let untested: Vec<&&str> = verbs.iter().filter(|v| !tests.contains(&format!("[\"{v}\"")) && !tests.contains(&format!("\"{v}\","))).collect();
    assert!(untested.is_empty(), "verbs no test runs: {untested:?}");
}

/// `halab probe` on loopback (as it runs inside nodes): a server for 4 s, a client ticking
/// every 10 ms for 2 s; every tick is echoed over UDP and the TCP connection stays up.
#[test]
fn probe_server_echoes_the_client_on_loopback() {
    let port = (20000 + std::process::id() % 20000).to_string();
    let out = std::env::temp_dir().join(format!("halab-probe-{}.json", std::process::id()));
    let mut server = std::process::Command::new(HALAB).args(["probe", "server", "--port", &port, "--duration", "4s"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    ok(&["probe", "client", "127.0.0.1", "--port", &port, "--interval", "10ms", "--duration", "2s", "--out", out.to_str().unwrap()]);
    let _ = server.kill();
    let _ = server.wait();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out);
    let text = v.to_string();
    let udp = v["udp"].as_array().unwrap_or_else(|| panic!("no udp samples: {}", &text[..text.len().min(400)]));
    assert!(udp.len() >= 150, "~200 ticks in 2 s, {} echoed", udp.len());
    assert!(v["tcp"].as_array().is_some_and(|t| t.len() >= 150), "the TCP ticks were echoed too");
}
