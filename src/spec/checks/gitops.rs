//! Checks of `[gitops]`.

use crate::gitops::age::Recipient;
use crate::spec::raw::{RawGitOps, S};
use crate::spec::GitOps;

use super::{Check, NamedList};

/// What an age recipient looks like, for the hints.
const RECIPIENT_HINT: &str = "give each recipient's public key, \"age1\" and 58 more characters, as `age-keygen` prints it (`age-keygen -y KEYFILE` prints it again)";

impl Check<'_> {
    /// `Some(None)` when the table is absent, `None` when it is present but wrong.
    pub(super) fn gitops(&mut self, raw: Option<S<RawGitOps>>) -> Option<Option<GitOps>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let at = raw.span();
        let Some(list) = raw.into_inner().age_recipients else {
            self.err(
                Some(at),
                "gitops.age_recipients",
                "required key is missing".to_string(),
                Some(format!(
                    "[gitops] needs age_recipients = [\"age1...\"]: {RECIPIENT_HINT}"
                )),
            );
            return None;
        };
        let age_recipients = self.named_list(
            list,
            "gitops.age_recipients",
            |s| Recipient::parse(s).map_err(|e| e.to_string()),
            NamedList {
                plural: "age recipients",
                use_hint: RECIPIENT_HINT.to_string(),
                empty_hint: format!("nobody could decrypt the Secrets: {RECIPIENT_HINT}"),
            },
        )?;
        Some(Some(GitOps { age_recipients }))
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::test_support::*;

    const A: &str = "age1ksz7llu7f5dem3lec9858330f96zya7utw32nuz6gnvm43us3qkqk4kpku";
    const B: &str = "age1px59kdk9cjc3x6rhjmqvss9uz2gpmhwk3aztvh8hgd9c22rpmplqdmlvhc";

    #[test]
    fn absent_or_sorted_recipients() {
        assert_eq!(parse_ok(&edit(&[])).spec.gitops, None);
        let text = format!(
            "{}\n[gitops]\nage_recipients = [\"{B}\", \"{A}\"]\n",
            edit(&[])
        );
        let gitops = parse_ok(&text).spec.gitops.unwrap();
        let listed: Vec<&str> = gitops.age_recipients.iter().map(|r| r.as_str()).collect();
        assert_eq!(listed, [A, B]);
    }
}
