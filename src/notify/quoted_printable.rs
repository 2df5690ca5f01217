//! Quoted-printable (RFC 2045, section 6.7) for the text parts of a digest and its attached list.
//!
//! lettre encodes a body through the `quoted_printable` crate, which pushes every byte
//! through its line-length bookkeeping one at a time: about 55 instructions a byte, so
//! encoding the full lists (~1 MB each, one per Kommune) was 6 % of the instructions of the
//! shared harness's cold pass. This encoder copies runs of bytes that stand for themselves
//! in one step and writes the same format: lines of at most 76 characters, soft breaks
//! (`=` at the end of a line), CRLF as the line break, `=XX` for everything else.

use email_encoding::body::Encoding;
use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// Longest encoded line, without its CRLF (RFC 2045).
const LINE: usize = 76;

/// `text` (CRLF line breaks) as a body in the encoding lettre would choose for it; only the
/// quoted-printable encoding itself is done here.
pub(crate) fn body(text: String) -> Body {
    match Encoding::choose(text.as_str(), false) {
        Encoding::QuotedPrintable => {
            Body::dangerous_pre_encoded(encode(text.as_bytes()), ContentTransferEncoding::QuotedPrintable)
        }
        _ => Body::new(text),
    }
}

/// A byte that stands for itself anywhere in a line: printable ASCII except `=`.
const fn literal(b: u8) -> bool {
    matches!(b, b'!'..=b'<' | b'>'..=b'~')
}

/// The quoted-printable form of `input`: CRLF stays a line break; every other byte that is
/// not printable ASCII (a lone CR or LF included), `=`, and a space or tab that ends a line
/// are written as `=XX`.
pub(crate) fn encode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 12);
    let mut start = 0;
    for end in memchr::memmem::find_iter(input, b"\r\n") {
        encode_line(&input[start..end], &mut out);
        out.extend_from_slice(b"\r\n");
        start = end + 2;
    }
    encode_line(&input[start..], &mut out);
    out
}

/// Longest encoded line before a soft break: one column stays free for its `=`.
const BEFORE_SOFT_BREAK: usize = LINE - 1;

/// Encodes one line of data (no CRLF in it) onto `out`, with soft breaks where it is long.
fn encode_line(line: &[u8], out: &mut Vec<u8>) {
    let mut len = 0;
    let mut rest = line;
    while let Some(&first) = rest.first() {
        if len == BEFORE_SOFT_BREAK {
            out.extend_from_slice(b"=\r\n");
            len = 0;
        }
        let run = plain_run(rest, BEFORE_SOFT_BREAK - len);
        if run > 0 {
            out.extend_from_slice(&rest[..run]);
            len += run;
            rest = &rest[run..];
            continue;
        }
        if len + 3 > BEFORE_SOFT_BREAK {
            out.extend_from_slice(b"=\r\n");
            len = 0;
        }
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.extend_from_slice(&[b'=', HEX[usize::from(first >> 4)], HEX[usize::from(first & 15)]]);
        len += 3;
        rest = &rest[1..];
    }
}

/// How many bytes at the start of `rest`, at most `room`, stand for themselves: printable
/// ASCII but `=`, spaces and tabs, except a space or tab that ends the line (it would be
/// lost in transit). Only what fits on the encoded line is read, so a long line is read once.
fn plain_run(rest: &[u8], room: usize) -> usize {
    // A table and a counting loop: the compiler turns a `position` with this test into a
    // branch per byte, which made this the encoder's whole cost.
    let window = &rest[..room.min(rest.len())];
    let mut run = 0;
    while run < window.len() && PLAIN[usize::from(window[run])] {
        run += 1;
    }
    if run == rest.len() && matches!(rest.last(), Some(b' ' | b'\t')) {
        run - 1
    } else {
        run
    }
}

/// Bytes that may stand for themselves inside a line: [`literal`], space and tab.
static PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = literal(b as u8) || b == b' ' as usize || b == b'\t' as usize;
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `encoded` and checks the form: lines of at most 76 characters, printable
    /// ASCII only, no line ending in a space or tab.
    fn decoded(encoded: &[u8]) -> Vec<u8> {
        for line in encoded.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(
                line.len() <= LINE,
                "line of {} characters: {:?}",
                line.len(),
                String::from_utf8_lossy(line)
            );
            assert!(
                line.iter().all(|&b| (b' '..=b'~').contains(&b) || b == b'\t'),
                "{line:?}"
            );
            assert!(
                !matches!(line.last(), Some(b' ' | b'\t')),
                "{line:?} ends in white space"
            );
        }
        quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict).expect("decodes strictly")
    }

    #[test]
    fn text_round_trips_in_lines_of_at_most_76() {
        let html =
            "<tr><td><a href=\"https://example.org/a?b=c\">Förderung für Kommunen – Straße</a><td>31.12.2026 \r\n\
                    Zeile mit Tab\t\r\n\r\nlöne CR\r hier, lone LF\n dort; "
                .repeat(7);
        assert_eq!(decoded(&encode(html.as_bytes())), html.as_bytes());
        assert!(encode(b"a=b").starts_with(b"a=3Db"));
        assert_eq!(encode(b"end \r\nnext\t"), b"end=20\r\nnext=09");
        assert_eq!(encode(b""), b"");
    }

    #[test]
    fn a_long_line_is_broken_softly() {
        let line = "x".repeat(200);
        let encoded = encode(line.as_bytes());
        assert_eq!(
            encoded.split(|&b| b == b'\n').count(),
            3,
            "{}",
            String::from_utf8_lossy(&encoded)
        );
        assert_eq!(decoded(&encoded), line.as_bytes());
    }

    #[test]
    fn the_encoding_is_the_one_lettre_chooses() {
        let texts = [
            "Программа поддержки муниципалитетов\r\n".repeat(10),
            "Förderprogramm für Kommunen\r\n".repeat(10),
            "Plain ASCII in short lines\r\n".repeat(10),
            "A long ASCII line ".repeat(10),
        ];
        for text in texts {
            let ours = body(text.clone());
            let lettres = Body::new(text);
            assert_eq!(ours.encoding(), lettres.encoding());
            if ours.encoding() != ContentTransferEncoding::QuotedPrintable {
                assert_eq!(ours.as_ref(), lettres.as_ref());
            }
        }
    }

    proptest! {
        /// Whatever the text: it decodes to itself, in lines of the allowed form.
        #[test]
        fn any_text_round_trips(text in "(?s)[a-z =\t\r\näöü€<>\"-]{0,400}") {
            prop_assert_eq!(decoded(&encode(text.as_bytes())), text.as_bytes());
        }
    }
}
