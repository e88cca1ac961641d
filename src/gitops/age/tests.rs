use super::*;
use bech32::{Bech32, Fe32, Hrp};

/// A key pair made by the real `age-keygen` v1.3.2 (test material only).
const SECRET: &str = "AGE-SECRET-KEY-17TYA4WF8D9C8E3NDUGLRCN0LJMKU868V47WTDT2C8WDEQZVXUNAQ4M94NR";
const PUBLIC: &str = "age12vznf0zfe2muc7wd3t03cp9n2dv7wpxpznxjeyx8r7uvfvz9fpfqr4hzu6";

/// The identity of age's own `testdata/example_keys.txt` and its recipient (`age-keygen -y`).
const AGE_EXAMPLE_KEYS: &str = "# Test key for ExampleParseIdentities.\n\
    AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU\n";
const AGE_EXAMPLE_PUBLIC: &str = "age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm";
/// age's `testdata/example.age` (binary, base64 here), which decrypts to "Black lives matter.".
const AGE_EXAMPLE_FILE: &str = "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSA4aHJsTStaQkczRGQ0ZkYyK2E1ODN6ZFRJV0RrOC9SNDFrQ1lac3Z3VFc0CnlPNFBZZGxNV0RKK0N4Z1VOUnFZNVowVC9tK2czRkNoNWpJeEdMYkNWWGMKLS0tIEkvaW1ldlp6eTgxMjBKU3ptSm5tbi9LTWszcDVBMTFWODNOazQxbTlOUEUKcMXlNiShUgdT+Sxa0Q7KsnO6TWEXgHcT6DggQXod8soIGCJyyPhchXc0oTEaO3XpjQ6v";

/// `printf 'kubeseed fixture\n' | age -e -a -r PUBLIC` with the real age v1.3.2.
const REAL_AGE_ARMORED: &str = "-----BEGIN AGE ENCRYPTED FILE-----
YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSArV2FzWnJBWlNPQnl2Z2Rp
ZWNWTWdhZjhLZFJIZ3RDQS9sZWNHdDJDN1VZCkpjbnM1VnFxSExnTUhDV3I0aWl5
d0Vidkc5UHhHNmJGS3Q4eUpGaElUT1kKLS0tIHEwOUtnM1Q4ZnJqQWVUelNYS0dY
R3ZaWUYzMXFCR3FsZjRTaE4yRjZWR3MKaRokISh+Rw/T+RyyE3xAojMd0VZrVQ0F
OLOz8i6Kb0FmhI+qxvM8A2MrojqMy6wL7g==
-----END AGE ENCRYPTED FILE-----
";

fn identity() -> Vec<Identity> {
    Identity::parse_file(SECRET).unwrap()
}

fn recipient() -> Recipient {
    Recipient::parse(PUBLIC).unwrap()
}

fn seed() -> EncryptionSeed {
    EncryptionSeed::new([0x5e; 32])
}

#[test]
fn recipients_from_age_keygen_parse_and_print_canonically() {
    for text in [PUBLIC, AGE_EXAMPLE_PUBLIC] {
        let r = Recipient::parse(text).unwrap();
        assert_eq!(r.as_str(), text);
        assert_eq!(r.to_string(), text);
        assert_eq!(format!("{r:?}"), format!("Recipient({text})"));
    }
}

#[test]
fn identities_give_the_recipient_age_keygen_printed() {
    let ids = identity();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].recipient().as_str(), PUBLIC);
    let example = Identity::parse_file(AGE_EXAMPLE_KEYS).unwrap();
    assert_eq!(example[0].recipient().as_str(), AGE_EXAMPLE_PUBLIC);
}

#[test]
fn identity_files_skip_comments_and_blank_lines_and_keep_every_key() {
    let file = format!(
        "# created: 2026-12-03T12:15:48Z\n# public key: {PUBLIC}\n{SECRET}\r\n\n{}",
        AGE_EXAMPLE_KEYS
    );
    let ids = Identity::parse_file(&file).unwrap();
    let recipients: Vec<&str> = ids.iter().map(|i| i.recipient().as_str()).collect();
    assert_eq!(recipients, [PUBLIC, AGE_EXAMPLE_PUBLIC]);
}

#[test]
fn identity_debug_and_errors_never_show_the_secret() {
    let ids = identity();
    let debug = format!("{ids:?}");
    assert!(!debug.contains("AGE-SECRET"), "{debug}");
    assert!(debug.contains(PUBLIC), "{debug}");
    let broken = format!("# k\n{}X\n", &SECRET[..SECRET.len() - 1]);
    for (file, want) in [
        (
            broken.as_str(),
            "identity file line 2: malformed age identity",
        ),
        (
            &SECRET.to_lowercase(),
            "identity file line 1: not an age X25519 identity",
        ),
        (
            "AGE-SECRET-KEY-PQ-1XYZ",
            "identity file line 1: a post-quantum",
        ),
        (
            "AGE-PLUGIN-YUBIKEY-1XYZ",
            "identity file line 1: an age plugin identity",
        ),
        (
            "# only a comment\n\n",
            "the identity file holds no age identity",
        ),
        (PUBLIC, "identity file line 1: not an age X25519 identity"),
    ] {
        let err = Identity::parse_file(file).unwrap_err().to_string();
        assert!(err.starts_with(want), "{file:?}: {err}");
        assert!(!err.contains(&SECRET[16..30]), "{err}");
    }
}

/// bech32 of `data` under `hrp` with the given checksum.
fn bech<Ck: bech32::Checksum>(hrp: &str, data: &[u8]) -> String {
    bech32::encode::<Ck>(Hrp::parse(hrp).unwrap(), data).unwrap()
}

#[test]
fn malformed_recipients_say_why() {
    let key = recipient().key;
    let mut flipped = PUBLIC.to_string();
    flipped.replace_range(10..11, if &PUBLIC[10..11] == "q" { "p" } else { "q" });
    // The last data character carries 4 padding bits: set one.
    let data = &PUBLIC[4..PUBLIC.len() - 6];
    let last = Fe32::from_char(data.chars().last().unwrap())
        .unwrap()
        .to_u8();
    let padded: String = data[..data.len() - 1].chars().collect::<String>()
        + &Fe32::try_from(last | 1).unwrap().to_char().to_string();
    let fes = padded.chars().map(|c| Fe32::from_char(c).unwrap());
    let bad_padding: String = bech32::primitives::iter::Fe32IterExt::with_checksum::<Bech32>(
        fes,
        &Hrp::parse("age").unwrap(),
    )
    .chars()
    .collect();
    for (text, want) in [
        (
            flipped.as_str(),
            "malformed age recipient: not bech32 or bad checksum",
        ),
        (
            &bech::<bech32::Bech32m>("age", &key),
            "malformed age recipient: not bech32 or bad checksum",
        ),
        (
            &bech::<Bech32>("age", &key[..31]),
            "malformed age recipient: wrong length",
        ),
        (
            &bech::<Bech32>("age", &[key, key].concat()),
            "malformed age recipient: wrong length",
        ),
        (&bad_padding, "malformed age recipient: non-zero padding"),
        (
            &bech::<Bech32>("age", &[0; 32]),
            "malformed age recipient: a low-order X25519 point",
        ),
        (&PUBLIC.to_uppercase(), "malformed age recipient: uppercase"),
        (
            &format!("{}A", &PUBLIC[..PUBLIC.len() - 1]),
            "malformed age recipient: mixed case",
        ),
        (
            &format!(" {PUBLIC}"),
            "malformed age recipient: leading or trailing whitespace",
        ),
        (
            &format!("{PUBLIC}\n"),
            "malformed age recipient: leading or trailing whitespace",
        ),
        ("age1", "malformed age recipient: not bech32"),
        ("", "not an age X25519 recipient"),
    ] {
        let err = Recipient::parse(text).unwrap_err().to_string();
        assert!(err.starts_with(want), "{text:?}: {err}");
    }
}

#[test]
fn other_kinds_of_key_are_named_and_secrets_not_echoed() {
    let yubikey = "age1yubikey1qwt50d05nh5vutpdzmlg5wn80xq5negm4uj9ghv0snvdd3yysf5yw3rhl3t";
    for (text, want) in [
        (SECRET, RecipientError::SecretKey),
        (&SECRET.to_lowercase(), RecipientError::SecretKey),
        ("AGE-PLUGIN-YUBIKEY-1QQQQ", RecipientError::PluginIdentity),
        (yubikey, RecipientError::Plugin("yubikey".into())),
        ("age1pq1qqqqqqqqqqqqq", RecipientError::PostQuantum),
        (
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN me@host",
            RecipientError::Ssh("ssh-ed25519"),
        ),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", RecipientError::Ssh("ssh-rsa")),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", RecipientError::Pem),
        ("FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4", RecipientError::Pgp),
        ("FBC7 B9E2 A4F9 289A C0C1  D484 3D16 CEE4 A273 81B4", RecipientError::Pgp),
        ("hello", RecipientError::NotAge),
    ] {
        let err = Recipient::parse(text).unwrap_err();
        assert_eq!(err, want, "{text:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("not an age X25519 recipient: "), "{msg}");
        assert!(!msg.contains(&text[..text.len().min(20)]) || text.len() < 12, "{msg}");
    }
    assert!(Recipient::parse(SECRET)
        .unwrap_err()
        .to_string()
        .contains("SECRET key (AGE-SECRET-KEY-1…), not shown here"));
    assert!(Recipient::parse(yubikey)
        .unwrap_err()
        .to_string()
        .contains("age-plugin-yubikey"));
}

/// Splits a binary age file into its header lines and the bytes after the header.
fn split_header(file: &[u8]) -> (Vec<String>, Vec<u8>) {
    let mut lines = Vec::new();
    let mut pos = 0;
    loop {
        let end = pos + file[pos..].iter().position(|b| *b == b'\n').unwrap();
        let line = String::from_utf8(file[pos..end].to_vec()).unwrap();
        pos = end + 1;
        let done = line.starts_with("--- ");
        lines.push(line);
        if done {
            return (lines, file[pos..].to_vec());
        }
    }
}

#[test]
fn the_file_follows_the_age_v1_format() {
    let plaintext = [7u8; 32];
    let armored = encrypt_armored(&plaintext, &recipient(), &seed());
    // Armor: the markers, 64-column lines of padded base64, LF endings.
    let lines: Vec<&str> = armored.lines().collect();
    assert_eq!(lines[0], ARMOR_BEGIN);
    assert_eq!(*lines.last().unwrap(), ARMOR_END);
    assert!(armored.ends_with("-----\n") && !armored.contains('\r'));
    let body = &lines[1..lines.len() - 1];
    assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
    assert!(!body.last().unwrap().is_empty() && body.last().unwrap().len() <= 64);

    let file = dearmor(&armored).unwrap();
    let (header, rest) = split_header(&file);
    assert_eq!(header.len(), 4, "{header:?}");
    assert_eq!(header[0], "age-encryption.org/v1");
    let share = header[1].strip_prefix("-> X25519 ").unwrap();
    assert_eq!(STANDARD_NO_PAD.decode(share).unwrap().len(), 32);
    // The wrapped 16-byte file key and its tag: one short body line.
    assert_eq!(STANDARD_NO_PAD.decode(&header[2]).unwrap().len(), 32);
    let mac = header[3].strip_prefix("--- ").unwrap();
    assert_eq!(STANDARD_NO_PAD.decode(mac).unwrap().len(), 32);
    // The 16-byte nonce, then one last chunk: the plaintext and a tag.
    assert_eq!(rest.len(), 16 + plaintext.len() + 16);

    // Recompute the recipient side by hand from the spec: the identity unwraps the file key,
    // whose HKDF "header" key MACs the header through "---".
    let d = derive(&seed(), &recipient(), &plaintext);
    assert_eq!(
        share,
        STANDARD_NO_PAD.encode(PublicKey::from(&d.ephemeral).to_bytes())
    );
    let covered = header[..3].join("\n") + "\n---";
    assert_eq!(
        STANDARD_NO_PAD.encode(header_mac(&d.file_key, covered.as_bytes())),
        mac
    );
    assert_eq!(rest[..16], d.nonce);
}

#[test]
fn it_decrypts_what_it_encrypts_at_every_chunk_boundary() {
    for len in [
        0,
        1,
        32,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        2 * CHUNK,
        2 * CHUNK + 5,
    ] {
        let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let armored = encrypt_armored(&plaintext, &recipient(), &seed());
        let file = dearmor(&armored).unwrap();
        let (_, rest) = split_header(&file);
        let chunks = len.div_ceil(CHUNK).max(1);
        assert_eq!(rest.len(), 16 + len + chunks * TAG, "{len}");
        let back = decrypt_armored(&armored, &identity()).unwrap();
        assert_eq!(*back, plaintext, "{len}");
    }
}

#[test]
fn it_decrypts_files_the_real_age_wrote() {
    let example = Identity::parse_file(AGE_EXAMPLE_KEYS).unwrap();
    let file = STANDARD.decode(AGE_EXAMPLE_FILE).unwrap();
    assert_eq!(*decrypt(&file, &example).unwrap(), b"Black lives matter.");
    assert_eq!(
        *decrypt_armored(&armor(&file), &example).unwrap(),
        b"Black lives matter."
    );
    assert_eq!(
        *decrypt_armored(REAL_AGE_ARMORED, &identity()).unwrap(),
        b"kubeseed fixture\n"
    );
    // Any of several identities; the first that matches wins.
    let both = [example.clone(), identity()].concat();
    assert_eq!(
        *decrypt_armored(REAL_AGE_ARMORED, &both).unwrap(),
        b"kubeseed fixture\n"
    );
}

#[test]
fn encryption_is_deterministic_and_bound_to_recipient_and_plaintext() {
    let other = Recipient::parse(AGE_EXAMPLE_PUBLIC).unwrap();
    let a = encrypt_armored(b"data key", &recipient(), &seed());
    assert_eq!(a, encrypt_armored(b"data key", &recipient(), &seed()));
    let base = derive(&seed(), &recipient(), b"data key");
    for d in [
        derive(&seed(), &other, b"data key"),
        derive(&seed(), &recipient(), b"data kez"),
        derive(&EncryptionSeed::new([0x5f; 32]), &recipient(), b"data key"),
    ] {
        assert_ne!(*d.file_key, *base.file_key);
        assert_ne!(d.ephemeral.to_bytes(), base.ephemeral.to_bytes());
        assert_ne!(d.nonce, base.nonce);
    }
}

#[test]
fn wrong_identities_and_tampering_fail() {
    let armored = encrypt_armored(b"secret data key", &recipient(), &seed());
    let example = Identity::parse_file(AGE_EXAMPLE_KEYS).unwrap();
    assert_eq!(decrypt_armored(&armored, &example), Err(AgeError::NoMatch));
    assert_eq!(decrypt_armored(&armored, &[]), Err(AgeError::NoIdentities));

    let file = dearmor(&armored).unwrap();
    let (header, rest) = split_header(&file);
    let header_len = file.len() - rest.len();
    // A changed MAC line, a changed payload byte, a truncated payload, trailing bytes.
    let mut bad_mac = file.clone();
    let at = header_len - 3;
    bad_mac[at] = if bad_mac[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(decrypt(&bad_mac, &identity()), Err(AgeError::HeaderMac));
    let mut bad_payload = file.clone();
    *bad_payload.last_mut().unwrap() ^= 1;
    assert_eq!(decrypt(&bad_payload, &identity()), Err(AgeError::Payload));
    assert_eq!(
        decrypt(&file[..file.len() - 1], &identity()),
        Err(AgeError::Payload)
    );
    let mut longer = file.clone();
    longer.push(0);
    assert!(decrypt(&longer, &identity()).is_err());
    assert!(decrypt(&file[..header_len + 10], &identity()).is_err());
    // A changed stanza share: the file key no longer unwraps.
    let other_share = STANDARD_NO_PAD.encode(recipient().key);
    let swapped = String::from_utf8(file[..header_len].to_vec())
        .unwrap()
        .replace(header[1].strip_prefix("-> X25519 ").unwrap(), &other_share);
    let mut swapped = swapped.into_bytes();
    swapped.extend_from_slice(&rest);
    assert_eq!(decrypt(&swapped, &identity()), Err(AgeError::NoMatch));
}

#[test]
fn armor_is_read_as_strictly_as_age_reads_it() {
    let armored = encrypt_armored(&[1u8; 100], &recipient(), &seed());
    let ok = |s: &str| decrypt_armored(s, &identity()).is_ok();
    assert!(ok(&armored));
    assert!(ok(&format!("\n  {armored}\n\n")));
    assert!(ok(&armored.replace('\n', "\r\n")));
    let lines: Vec<&str> = armored.lines().collect();
    let joined = |ls: &[&str]| ls.join("\n") + "\n";
    let mut short_first = lines.clone();
    let first = short_first[1].to_string();
    short_first[1] = &first[..60];
    let mut bad_char = lines.clone();
    let starred = format!("*{}", &first[1..]);
    bad_char[1] = &starred;
    for (text, want) in [
        (
            armored.replace(ARMOR_BEGIN, "-----BEGIN AGE FILE-----"),
            "no BEGIN",
        ),
        (armored.replace(ARMOR_END, ""), "no END"),
        (format!("{armored}x\n"), "data after the END line"),
        (joined(&short_first), "a short line before the last"),
        (armored.replacen('\n', "\n\n", 2), "a line that is empty"),
        (joined(&bad_char), "invalid base64"),
    ] {
        match decrypt_armored(&text, &identity()) {
            Err(AgeError::Armor(why)) => assert!(why.starts_with(want), "{want}: {why}"),
            other => panic!("{want}: {other:?}"),
        }
    }
}

/// The exact bytes of one encryption: any change to a label, the derivation or the format
/// shows here in review.
#[test]
fn known_answer() {
    let armored = encrypt_armored(b"kubeseed known answer", &recipient(), &seed());
    assert_eq!(armored, KNOWN_ANSWER);
    assert_eq!(
        *decrypt_armored(&armored, &identity()).unwrap(),
        b"kubeseed known answer"
    );
}

const KNOWN_ANSWER: &str = r#"-----BEGIN AGE ENCRYPTED FILE-----
YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSAzSEg3WExYVDZweThCa29S
UWhZQ2I2QmVSMHFaRHBvSE41OEJiZVlJZEZBCmxMbmZEZmFmU0htL1FQWVZ6Y3ov
dExndmlocXFVbU52MWlFTEJ4WlFHSncKLS0tIEJYWGoyVk1xVmh4Y1lrNWV1bExn
ZU0rQnhJZ25SODhkUWcwUWhkQkwwdEkKg7mAynodlO7V7SZ7lkM4LvBYB95IR9lc
CT8yWb8h4W/sieuDp7cK6PriJQCsP+rDN8L7bi4=
-----END AGE ENCRYPTED FILE-----
"#;
