//! `deploy/`: the systemd unit carries its hardening, reads its secrets from an
//! environment file, and passes `systemd-analyze verify` (when that command exists).

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

fn unit_text() -> String {
    std::fs::read_to_string(Path::new(DEPLOY).join("foerderradar.service")).unwrap()
}

/// Every `Key=value` of the unit, values of repeated keys in order.
fn directives(text: &str) -> HashMap<String, Vec<String>> {
    let mut keys: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            keys.entry(key.trim().to_string())
                .or_default()
                .push(value.trim().to_string());
        }
    }
    keys
}

#[test]
fn the_unit_is_hardened_and_reads_secrets_from_an_environment_file() {
    let keys = directives(&unit_text());
    let one = |key: &str| -> &str {
        let values = keys
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing in foerderradar.service"));
        &values[0]
    };
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "foerderradar"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    // The daemon writes nothing outside its state directory, and finds its store there.
    let exec = one("ExecStart");
    assert!(
        exec.contains("--data /var/lib/foerderradar") && exec.ends_with(" run"),
        "{exec}"
    );
    assert!(one("ExecReload").contains("-HUP"));
    // Longer than the daemon's default shutdown grace of 30 s.
    assert!(one("TimeoutStopSec").parse::<u32>().unwrap() > 30);

    let env_file = one("EnvironmentFile").trim_start_matches('-');
    assert_eq!(env_file, "/etc/foerderradar/foerderradar.env");
    let example = std::fs::read_to_string(Path::new(DEPLOY).join("foerderradar.env.example")).unwrap();
    let variables: Vec<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
        .collect();
    assert_eq!(variables, ["FOERDERRADAR_SMTP_PASSWORD"]);
    // The README's SMTP example names the same variable.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("password_env = \"FOERDERRADAR_SMTP_PASSWORD\""));
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!(
            "\n!!!!! SKIPPED: systemd-analyze is not installed; deploy/foerderradar.service was NOT verified !!!!!\n"
        );
        return;
    }
    // The unit as installed, but starting the binary under test (verify checks it exists).
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("foerderradar.service");
    let binary = assert_cmd::cargo::cargo_bin("foerderradar");
    let text = unit_text().replace("/usr/local/bin/foerderradar", binary.to_str().unwrap());
    std::fs::write(&unit, text).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed:\n{stderr}");
    // Unknown or misspelt keys are only warnings: none may appear.
    let about_unit: Vec<&str> = stderr.lines().filter(|l| l.contains("foerderradar")).collect();
    assert!(
        about_unit.is_empty(),
        "systemd-analyze verify warns:\n{}",
        about_unit.join("\n")
    );
}
