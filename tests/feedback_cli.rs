//! `feedback` and `contacts` through the binary: entries stored with who, when and
//! why; names resolved in any case; a typo is an error that lists what is known.

use crate::pass::{fixture_server, foerderradar, write_config};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn feedback_is_recorded_listed_and_typos_are_named() {
    let server = fixture_server().await;
    let dir = tempfile::tempdir().unwrap();
    let (config, data) = (dir.path().join("config"), dir.path().join("data"));
    write_config(&config, &server.uri(), 9);
    foerderradar(&config, &data, &["collect"]);
    let listing = foerderradar(&config, &data, &["calls", "list", "--all"]);
    let listing = text(&listing.stdout);
    let call = listing
        .split_whitespace()
        .find(|w| w.starts_with("c-"))
        .unwrap_or_else(|| panic!("no call id in:\n{listing}"))
        .to_string();
    let prefix = &call[..call.len().min(8)];

    let dismissed = foerderradar(
        &config,
        &data,
        &[
            "feedback",
            "dismiss",
            prefix,
            "--kommune",
            "AHLEN",
            "--reason",
            "kein Bedarf",
            "--by",
            "kreis",
        ],
    );
    assert!(dismissed.status.success(), "{}", text(&dismissed.stderr));
    assert!(
        text(&dismissed.stdout).contains("for Kommune ahlen"),
        "{}",
        text(&dismissed.stdout)
    );
    let muted = foerderradar(
        &config,
        &data,
        &[
            "feedback",
            "mute",
            "--handlungsfeld",
            "Innenstadt-Dorfmitte",
            "--contact",
            "Digital@Ahlen.example.org",
        ],
    );
    assert!(muted.status.success(), "{}", text(&muted.stderr));

    let typo = foerderradar(
        &config,
        &data,
        &[
            "feedback",
            "mute",
            "--project",
            "dorfladn",
            "--contact",
            "digital@ahlen.example.org",
        ],
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("unknown project 'dorfladn' (known:"),
        "{}",
        text(&typo.stderr)
    );
    let stranger = foerderradar(
        &config,
        &data,
        &["feedback", "dismiss", prefix, "--contact", "x@y.example"],
    );
    assert!(text(&stranger.stderr).contains("'x@y.example' is not a contact"));

    let list = foerderradar(&config, &data, &["feedback", "list", "--format", "json"]);
    let entries: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2, "the refused entries were not stored: {entries:?}");
    assert_eq!(entries[0]["target"], call.as_str(), "a prefix is stored as the full id");
    assert_eq!(entries[0]["action"], "passt-nicht");
    assert_eq!(entries[0]["contact"], serde_json::Value::Null);
    assert_eq!(
        (entries[0]["actor"].as_str(), entries[0]["reason"].as_str()),
        (Some("kreis"), Some("kein Bedarf"))
    );
    assert_eq!(entries[1]["contact"], "digital@ahlen.example.org");
    assert_eq!(entries[1]["target_kind"], "handlungsfeld");
    assert_eq!(entries[1]["target"], "innenstadt-dorfmitte");

    let of_beelen = foerderradar(&config, &data, &["feedback", "list", "--kommune", "Beelen"]);
    assert_eq!(text(&of_beelen.stdout).trim(), "feedback: no entries");
    let contacts = foerderradar(&config, &data, &["contacts"]);
    assert!(text(&contacts.stdout).contains("kommunen.toml applies to all"));
}
