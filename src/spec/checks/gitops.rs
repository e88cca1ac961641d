//! Checks of `[gitops]`.

use crate::gitops::age::Recipient;
use crate::spec::raw::{RawGitOps, S};
use crate::spec::GitOps;

use super::Check;

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
        if list.get_ref().is_empty() {
            self.err(
                Some(list.span()),
                "gitops.age_recipients",
                "no age recipients listed: nobody could decrypt the Secrets".to_string(),
                Some(RECIPIENT_HINT.to_string()),
            );
            return None;
        }
        let mut recipients: Vec<Recipient> = Vec::new();
        let mut ok = true;
        for (i, item) in list.into_inner().into_iter().enumerate() {
            let key = format!("gitops.age_recipients[{i}]");
            match Recipient::parse(item.get_ref()) {
                Err(e) => {
                    ok = false;
                    self.err(
                        Some(item.span()),
                        &key,
                        e.to_string(),
                        Some(RECIPIENT_HINT.to_string()),
                    );
                }
                Ok(r) if recipients.contains(&r) => {
                    ok = false;
                    self.err(
                        Some(item.span()),
                        &key,
                        format!("{} is listed twice", r.as_str()),
                        Some("remove the duplicate".to_string()),
                    );
                }
                Ok(r) => recipients.push(r),
            }
        }
        recipients.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        ok.then_some(Some(GitOps {
            age_recipients: recipients,
        }))
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
