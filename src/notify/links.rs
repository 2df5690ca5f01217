//! Signed links in the mails: "Passt", "Passt nicht", "Nichts mehr zu diesem
//! Projekt", "Einstellungen", "Abbestellen", and a Kommune's calendar.
//!
//! A token names the contact, the action and when it expires, and carries an
//! HMAC-SHA256 over all three, so nobody can make a link for another contact or
//! another call. `foerderradar serve` verifies it (constant-time) and only ever
//! acts on a `POST`: mail scanners open every link of a mail.
//!
//! Token: `1.<payload>.<mac>`, both parts base64url without padding; the payload
//! is `<expiry unix secs>\n<contact>\n<action>` (expiry 0: never, for the stable
//! calendar URL). The token is URL-safe and needs no escaping in a path.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebSettings;
use crate::model::CallId;

type HmacSha256 = Hmac<Sha256>;

/// A key shorter than this is refused: a brute-forceable key would let anyone
/// unsubscribe everybody.
pub const MIN_SECRET_BYTES: usize = 32;

/// Domain separation: a link MAC can never pass as a CSRF token or vice versa.
const LINK_CONTEXT: &[u8] = b"foerderradar link v1\n";
const CSRF_CONTEXT: &[u8] = b"foerderradar csrf v1\n";
const VERSION: &str = "1";

/// The path under `public_url` that the server answers links on.
pub const LINK_PATH: &str = "l/";

/// What a link does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAction {
    /// The call fits.
    Passt(CallId),
    /// The call does not fit: it never comes back to this contact.
    PasstNicht(CallId),
    /// No more calls of this project for this contact.
    MuteProject(String),
    /// The contact page: its calls and its settings.
    Settings,
    /// No more digests (also RFC 8058 one-click).
    Unsubscribe,
    /// The stable ICS URL of a Kommune's calls (never expires).
    Calendar(String),
}

impl fmt::Display for LinkAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkAction::Passt(id) => write!(f, "passt:{}", id.0),
            LinkAction::PasstNicht(id) => write!(f, "passt-nicht:{}", id.0),
            LinkAction::MuteProject(p) => write!(f, "mute-project:{p}"),
            LinkAction::Settings => f.write_str("settings"),
            LinkAction::Unsubscribe => f.write_str("unsubscribe"),
            LinkAction::Calendar(k) => write!(f, "calendar:{k}"),
        }
    }
}

impl FromStr for LinkAction {
    type Err = LinkError;
    fn from_str(s: &str) -> Result<LinkAction, LinkError> {
        let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
        let needs_arg = |arg: &str| (!arg.is_empty()).then(|| arg.to_string()).ok_or(LinkError::Malformed);
        Ok(match kind {
            "passt" => LinkAction::Passt(CallId(needs_arg(arg)?)),
            "passt-nicht" => LinkAction::PasstNicht(CallId(needs_arg(arg)?)),
            "mute-project" => LinkAction::MuteProject(needs_arg(arg)?),
            "calendar" => LinkAction::Calendar(needs_arg(arg)?),
            "settings" if arg.is_empty() => LinkAction::Settings,
            "unsubscribe" if arg.is_empty() => LinkAction::Unsubscribe,
            _ => return Err(LinkError::Malformed),
        })
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// Lower-cased address of the contact; empty for a Kommune's calendar.
    pub contact: String,
    pub action: LinkAction,
    /// `None`: the link does not expire (calendar).
    pub expires: Option<DateTime<Utc>>,
}

/// Why a token was refused. The web server shows the same page for all of them and
/// never tells the visitor which one it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("malformed link token")]
    Malformed,
    #[error("link signature does not match")]
    BadSignature,
    #[error("link expired")]
    Expired,
}

/// Why no signer could be built although links are configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkSetupError {
    #[error(
        "environment variable {var} (web.link_secret_env) is not set; set it to a random key of at least {MIN_SECRET_BYTES} characters (e.g. `openssl rand -hex 32`)"
    )]
    SecretMissing { var: String },
    #[error(
        "environment variable {var} (web.link_secret_env) holds a key shorter than {MIN_SECRET_BYTES} characters; use a random one such as `openssl rand -hex 32`"
    )]
    SecretTooShort { var: String },
}

/// Signs and verifies link tokens with the deployment's key.
#[derive(Clone)]
pub struct LinkSigner {
    secret: Vec<u8>,
    /// Ends with `/`; links are `<base>l/<token>`.
    base: url::Url,
    validity: Duration,
}

impl fmt::Debug for LinkSigner {
    // The key never appears, not in a log and not in a panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkSigner")
            .field("secret", &"<redacted>")
            .field("base", &self.base.as_str())
            .field("validity", &self.validity)
            .finish()
    }
}

impl LinkSigner {
    /// The signer for the mails: `None` when `[web]` has no `public_url` or no
    /// `link_secret_env` (then no mail carries a link), an error when the variable
    /// is named but holds no usable key.
    pub fn from_config(web: &WebSettings) -> Result<Option<LinkSigner>, LinkSetupError> {
        let (Some(base), Some(var)) = (&web.public_url, &web.link_secret_env) else {
            return Ok(None);
        };
        let secret = secret_from_env(var)?;
        Ok(Some(LinkSigner::new(secret, base.clone(), web.link_validity)))
    }

    /// The signer of the web server: links are written under `public_url`, or under
    /// the bound address when none is configured. `None` without `link_secret_env`.
    pub fn for_server(web: &WebSettings) -> Result<Option<LinkSigner>, LinkSetupError> {
        let Some(var) = &web.link_secret_env else {
            return Ok(None);
        };
        let secret = secret_from_env(var)?;
        let base = web.public_url.clone().unwrap_or_else(|| {
            url::Url::parse(&format!("http://{}/", web.bind)).expect("a socket address makes a valid URL")
        });
        Ok(Some(LinkSigner::new(secret, base, web.link_validity)))
    }

    pub fn new(secret: impl Into<Vec<u8>>, base: url::Url, validity: Duration) -> LinkSigner {
        let mut base = base;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        LinkSigner {
            secret: secret.into(),
            base,
            validity,
        }
    }

    /// The address everything is served under (ends with `/`).
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// A link for `contact` to do `action`, valid for `link_validity_days` from `now`.
    pub fn url(&self, contact: &str, action: &LinkAction, now: DateTime<Utc>) -> String {
        self.url_of(&self.token(contact, action, now))
    }

    /// The full URL of a token.
    pub fn url_of(&self, token: &str) -> String {
        format!("{}{LINK_PATH}{token}", self.base)
    }

    /// The token alone (the path segment after `l/`).
    pub fn token(&self, contact: &str, action: &LinkAction, now: DateTime<Utc>) -> String {
        let validity = chrono::Duration::from_std(self.validity).unwrap_or(chrono::Duration::MAX);
        let expires = now.checked_add_signed(validity).unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.sign(&contact.trim().to_lowercase(), action, expires.timestamp().max(1))
    }

    /// The stable calendar URL of a Kommune: the same on every call, never expiring,
    /// so Outlook or Thunderbird can subscribe to it once.
    pub fn calendar_url(&self, kommune: &str) -> String {
        self.url_of(&self.sign("", &LinkAction::Calendar(kommune.to_string()), 0))
    }

    fn sign(&self, contact: &str, action: &LinkAction, expires: i64) -> String {
        let payload = format!("{expires}\n{contact}\n{action}");
        let payload = URL_SAFE_NO_PAD.encode(payload);
        let mac = self.mac(LINK_CONTEXT, payload.as_bytes()).finalize().into_bytes();
        format!("{VERSION}.{payload}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    fn mac(&self, context: &[u8], data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(context);
        mac.update(data);
        mac
    }

    /// Checks the signature (in constant time) and then the expiry.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
        let mut parts = token.split('.');
        let (Some(VERSION), Some(payload), Some(mac), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| LinkError::Malformed)?;
        self.mac(LINK_CONTEXT, payload.as_bytes())
            .verify_slice(&mac)
            .map_err(|_| LinkError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| LinkError::Malformed)?;
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
        let mut fields = payload.splitn(3, '\n');
        let (Some(expires), Some(contact), Some(action)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(LinkError::Malformed);
        };
        let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
        let expires = match expires {
            0 => None,
            secs => Some(DateTime::from_timestamp(secs, 0).ok_or(LinkError::Malformed)?),
        };
        if expires.is_some_and(|e| now > e) {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaims {
            contact: contact.to_string(),
            action: action.parse()?,
            expires,
        })
    }

    /// The CSRF token of the forms on a link's page: bound to the link, so a form
    /// posted from elsewhere cannot act on it.
    pub fn csrf_token(&self, token: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(CSRF_CONTEXT, token.as_bytes()).finalize().into_bytes())
    }

    /// Whether `csrf` belongs to `token` (constant-time).
    pub fn verify_csrf(&self, token: &str, csrf: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(csrf)
            .is_ok_and(|mac| self.mac(CSRF_CONTEXT, token.as_bytes()).verify_slice(&mac).is_ok())
    }
}

/// The link key from the environment variable `var` (`[web] link_secret_env`).
pub fn secret_from_env(var: &str) -> Result<Vec<u8>, LinkSetupError> {
    let value = std::env::var(var).unwrap_or_default();
    if value.is_empty() {
        return Err(LinkSetupError::SecretMissing { var: var.into() });
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(LinkSetupError::SecretTooShort { var: var.into() });
    }
    Ok(value.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn signer() -> LinkSigner {
        let base = url::Url::parse("https://radar.example.org/fr").unwrap();
        LinkSigner::new(SECRET, base, Duration::from_secs(180 * 86_400))
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn actions() -> Vec<LinkAction> {
        vec![
            LinkAction::Passt(CallId("fdb-123".into())),
            LinkAction::PasstNicht(CallId("eu:HORIZON-CL5-2027".into())),
            LinkAction::MuteProject("dorfladen".into()),
            LinkAction::Settings,
            LinkAction::Unsubscribe,
            LinkAction::Calendar("ahlen".into()),
        ]
    }

    #[test]
    fn every_action_round_trips_in_a_url_safe_link() {
        let s = signer();
        for action in actions() {
            let url = s.url(" A@Ahlen.Example ", &action, now());
            let token = url.strip_prefix("https://radar.example.org/fr/l/").expect(&url);
            assert!(
                token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{token}"
            );
            let claims = s.verify(token, now()).unwrap();
            assert_eq!(claims.contact, "a@ahlen.example");
            assert_eq!(claims.action, action);
            assert_eq!(claims.expires, Some(now() + chrono::Duration::days(180)));
        }
    }

    #[test]
    fn tampered_tokens_are_rejected() {
        let s = signer();
        let token = s.token("a@ahlen.example", &LinkAction::Passt(CallId("c-1".into())), now());
        let (head, mac) = token.rsplit_once('.').unwrap();
        // Another contact or another call under the same signature.
        let forged_payload = URL_SAFE_NO_PAD.encode(format!(
            "{}\nb@beelen.example\npasst:c-1",
            (now() + chrono::Duration::days(180)).timestamp()
        ));
        let forged = format!("1.{forged_payload}.{mac}");
        assert_eq!(s.verify(&forged, now()), Err(LinkError::BadSignature));
        // One flipped character of the signature.
        let mut chars: Vec<char> = mac.chars().collect();
        chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
        let flipped = format!("{head}.{}", chars.into_iter().collect::<String>());
        assert_eq!(s.verify(&flipped, now()), Err(LinkError::BadSignature));
        // Another key.
        let other = LinkSigner::new(
            "ffffffffffffffffffffffffffffffff",
            s.base().clone(),
            Duration::from_secs(1),
        );
        assert_eq!(other.verify(&token, now()), Err(LinkError::BadSignature));
        for junk in ["", "1", "1..", "2.a.b", "1.a.b.c", "1.!!.??"] {
            assert!(s.verify(junk, now()).is_err(), "{junk}");
        }
        assert!(s.verify(&token, now()).is_ok());
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let s = signer();
        let token = s.token("a@ahlen.example", &LinkAction::Unsubscribe, now());
        let last_second = now() + chrono::Duration::days(180);
        assert!(s.verify(&token, last_second).is_ok());
        assert_eq!(
            s.verify(&token, last_second + chrono::Duration::seconds(1)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn the_calendar_url_is_stable_and_does_not_expire() {
        let s = signer();
        let url = s.calendar_url("ahlen");
        assert_eq!(url, s.calendar_url("ahlen"));
        let token = url.rsplit('/').next().unwrap();
        let far = now() + chrono::Duration::days(20 * 365);
        let claims = s.verify(token, far).unwrap();
        assert_eq!(claims.action, LinkAction::Calendar("ahlen".into()));
        assert_eq!((claims.contact.as_str(), claims.expires), ("", None));
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_link() {
        let s = signer();
        let a = s.token("a@ahlen.example", &LinkAction::Settings, now());
        let b = s.token("b@beelen.example", &LinkAction::Settings, now());
        let csrf = s.csrf_token(&a);
        assert!(s.verify_csrf(&a, &csrf));
        assert!(!s.verify_csrf(&b, &csrf));
        assert!(!s.verify_csrf(&a, "AAAA"));
        // A CSRF token is no link and a link MAC is no CSRF token.
        assert!(
            s.verify(&format!("1.{}.{csrf}", a.split('.').nth(1).unwrap()), now())
                .is_err()
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let text = format!("{:?}", signer());
        assert!(!text.contains(SECRET) && text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn the_key_comes_from_the_named_variable() {
        let mut web = WebSettings {
            public_url: Some(url::Url::parse("https://radar.example.org/").unwrap()),
            ..WebSettings::default()
        };
        assert!(
            matches!(LinkSigner::from_config(&web), Ok(None)),
            "no variable named: no links"
        );
        web.link_secret_env = Some("FOERDERRADAR_TEST_LINK_SECRET_UNSET".into());
        let error = LinkSigner::from_config(&web).unwrap_err();
        assert!(matches!(error, LinkSetupError::SecretMissing { .. }));
        assert!(error.to_string().contains("FOERDERRADAR_TEST_LINK_SECRET_UNSET"));
        web.public_url = None;
        assert!(
            matches!(LinkSigner::from_config(&web), Ok(None)),
            "no web address: no links"
        );
    }
}
