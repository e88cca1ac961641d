//! The detached JWS that signs `kube-public/cluster-info`.
//!
//! kube-controller-manager's bootstrapsigner writes `jws-kubeconfig-<token-id>`
//! into `cluster-info`, and `kubeadm join` recomputes it from `--token` and
//! compares the two *as strings* (`cluster-bootstrap/token/jws/jws.go`). So the
//! value kubeseed pre-renders must be byte-identical to upstream's: the
//! protected header exactly `{"alg":"HS256","kid":"<token-id>"}`, HMAC-SHA256
//! keyed with the token secret alone (not `id.secret`, whatever the docs say),
//! base64url without padding, and the payload segment left empty (RFC 7515
//! Appendix F). If it differed, the bootstrapsigner would overwrite it (a diff
//! for GitOps) or, with signing off, join would fail.
//!
//! See shared/reference/kubernetes-bootstrap-facts.md §2.2; the upstream test
//! vectors are the unit tests below.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

type HmacSha256 = Hmac<Sha256>;

/// The detached compact JWS `B64(header)..B64(HMAC)` of `content`, as
/// upstream's `ComputeDetachedSignature(content, tokenID, tokenSecret)`.
pub fn detached_signature(content: &str, token_id: &str, token_secret: &str) -> String {
    // go-jose writes the header with sorted keys and no whitespace. A token
    // id is [a-z0-9]{6}, so JSON string escaping (serde's or Go's, which also
    // escapes <, > and &) cannot differ for it.
    let header = format!(
        "{{\"alg\":\"HS256\",\"kid\":{}}}",
        serde_json::Value::from(token_id)
    );
    let header_b64 = URL_SAFE_NO_PAD.encode(header.as_bytes());
    let signing_input = format!(
        "{header_b64}.{}",
        URL_SAFE_NO_PAD.encode(content.as_bytes())
    );
    let mac = hmac_sha256(token_secret.as_bytes(), signing_input.as_bytes());
    format!("{header_b64}..{}", URL_SAFE_NO_PAD.encode(mac))
}

/// HMAC-SHA256 with a key of any length, per RFC 2104: a key longer than the
/// 64-byte block is hashed first, a shorter one zero-padded. Upstream pads
/// short secrets to 32 bytes for go-jose; zero padding below the block size
/// does not change an HMAC, which is why the vectors below all agree. Padding
/// here lets us use the infallible block-sized constructor.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block: hmac::digest::Key<HmacSha256> = Default::default();
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <HmacSha256 as KeyInit>::new(&block);
    block.zeroize();
    mac.update(message);
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Upstream vectors: kubernetes/kubernetes
    // staging/src/k8s.io/cluster-bootstrap/token/jws/jws_test.go.
    const CONTENT: &str = "Hello from the other side. I must have called a thousand times.";
    const JOSHUA: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9";

    #[test]
    fn upstream_vector_content() {
        assert_eq!(
            detached_signature(CONTENT, "joshua", "my voice is my passcode"),
            format!("{JOSHUA}..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8")
        );
    }

    #[test]
    fn upstream_vector_empty_content() {
        assert_eq!(
            detached_signature("", "joshua", "my voice is my passcode"),
            format!("{JOSHUA}..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk")
        );
    }

    #[test]
    fn upstream_vector_empty_secret() {
        assert_eq!(
            detached_signature(CONTENT, "joshua", ""),
            format!("{JOSHUA}..UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8")
        );
    }

    /// Upstream's `TestSignatureCompatibility`: secrets around go-jose's
    /// 32-byte minimum, which upstream pads and we do not need to.
    #[test]
    fn upstream_vectors_secret_lengths() {
        let header = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImlkIn0";
        for (n, mac) in [
            (0, "GBG9nJpyHc7Tk_iryUsRXOvX6U-19DDCA2AmlC326DU"),
            (1, "x-LVIHM7D6uo6buZFEW2ldnwJL2Ddduh2ZhxFN33v5w"),
            (8, "pCqXr-QOqtnLik5dOn0DZu842z-u_rchSqd6B-MoOFQ"),
            (31, "Wy4AKm0ArcyixzYnGnwAjWR7POeVBKBwnkLZw8GUkG8"),
            (32, "1z14ArXPw5a3L8hIAZmzMWdDXXsxED78LO7wn3m4a0k"),
            (33, "exPZdsbPApmX14UF7bf2KoBdZwrkzSotja4egZ60UXs"),
        ] {
            assert_eq!(
                detached_signature("content", "id", &"x".repeat(n)),
                format!("{header}..{mac}"),
                "secret length {n}"
            );
        }
    }

    /// The realistic case of facts §2.2 (computed, not an upstream vector):
    /// a cluster-info kubeconfig in client-go ≥ 1.34's shape.
    #[test]
    fn cluster_info_shaped_content() {
        let content = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: AAAA\n    server: https://10.0.0.1:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\nusers: null\n";
        assert_eq!(
            detached_signature(content, "abcdef", "0123456789abcdef"),
            "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..u_ZthThgN5w0Eb7-okkc3L3JWdhHWWdqdVndZMULVuY"
        );
    }

    /// Keys longer than the HMAC block are hashed first (RFC 2104), so the
    /// padding shortcut must not truncate them. RFC 4231 test case 6.
    #[test]
    fn long_keys_follow_rfc_2104() {
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}
