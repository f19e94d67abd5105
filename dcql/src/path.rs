//! Claims path pointers (OpenID4VP 1.0 §7): a non-empty array of strings (object keys),
//! non-negative integers (array indexes) and nulls (every element of an array), applied to a
//! JSON credential from its root.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// One step of a [`ClaimsPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PathElement {
    Key(String),
    Index(u64),
    /// `null`: every element of the selected array(s).
    All(()),
}

/// A claims path pointer, e.g. `["address", "locality"]` or `["degrees", null, "type"]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimsPath(pub Vec<PathElement>);

/// Why processing a path failed (§7.1.1: processing aborts with an error).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PathError {
    #[error("step {step} expects an object")]
    NotObject { step: usize },
    #[error("step {step} expects an array")]
    NotArray { step: usize },
    #[error("nothing in the credential is at this path")]
    Nothing,
}

impl ClaimsPath {
    /// A path of object keys, e.g. `ClaimsPath::keys(["address", "locality"])`.
    pub fn keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            keys.into_iter()
                .map(|k| PathElement::Key(k.to_owned()))
                .collect(),
        )
    }

    /// The claims this path selects in `root` (§7.1.1). Each selected node is distinct, so
    /// the work is bounded by the size of `root`.
    pub fn select<'v>(&self, root: &'v Value) -> Result<Vec<&'v Value>, PathError> {
        let mut selected = vec![root];
        for (step, element) in self.0.iter().enumerate() {
            let mut next = Vec::new();
            for v in selected {
                match element {
                    PathElement::Key(k) => {
                        let o = v.as_object().ok_or(PathError::NotObject { step })?;
                        next.extend(o.get(k));
                    }
                    PathElement::All(()) => {
                        let a = v.as_array().ok_or(PathError::NotArray { step })?;
                        next.extend(a.iter());
                    }
                    PathElement::Index(i) => {
                        let a = v.as_array().ok_or(PathError::NotArray { step })?;
                        next.extend(usize::try_from(*i).ok().and_then(|i| a.get(i)));
                    }
                }
            }
            selected = next;
        }
        if selected.is_empty() {
            return Err(PathError::Nothing);
        }
        Ok(selected)
    }

    /// The top-level claim the path starts at, if it starts with a key (what an SD-JWT
    /// discloses as one disclosure).
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathElement::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl std::fmt::Display for ClaimsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| match e {
                PathElement::Key(k) => k.clone(),
                PathElement::Index(i) => i.to_string(),
                PathElement::All(()) => "*".into(),
            })
            .collect();
        f.write_str(&parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The credential of the specification's example (§7.3).
    fn arthur() -> Value {
        json!({
            "name": "Arthur Dent",
            "address": {"street_address": "42 Market Street", "locality": "Milliways", "postal_code": "12345"},
            "degrees": [
                {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
                {"type": "Master of Science", "university": "University of Betelgeuse"}
            ],
            "nationalities": ["British", "Betelgeusian"]
        })
    }

    fn path(v: Value) -> ClaimsPath {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_specifications_examples_select_what_it_says() {
        let c = arthur();
        assert_eq!(
            path(json!(["name"])).select(&c).unwrap(),
            vec![&json!("Arthur Dent")]
        );
        assert_eq!(
            path(json!(["address"])).select(&c).unwrap(),
            vec![&c["address"]]
        );
        assert_eq!(
            path(json!(["address", "street_address"]))
                .select(&c)
                .unwrap(),
            vec![&json!("42 Market Street")]
        );
        assert_eq!(
            path(json!(["degrees", null, "type"])).select(&c).unwrap(),
            vec![&json!("Bachelor of Science"), &json!("Master of Science")]
        );
        assert_eq!(
            path(json!(["nationalities", 1])).select(&c).unwrap(),
            vec![&json!("Betelgeusian")]
        );
    }

    #[test]
    fn processing_aborts_where_the_specification_says() {
        let c = arthur();
        assert_eq!(
            path(json!(["name", "first"])).select(&c),
            Err(PathError::NotObject { step: 1 })
        );
        assert_eq!(
            path(json!(["address", 0])).select(&c),
            Err(PathError::NotArray { step: 1 })
        );
        assert_eq!(
            path(json!(["address", null])).select(&c),
            Err(PathError::NotArray { step: 1 })
        );
        assert_eq!(
            path(json!(["nationalities", 2])).select(&c),
            Err(PathError::Nothing)
        );
        assert_eq!(
            path(json!(["birthdate"])).select(&c),
            Err(PathError::Nothing)
        );
    }

    #[test]
    fn a_path_reads_and_prints_as_json_would() {
        let p = path(json!(["degrees", null, "type", 0]));
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!(["degrees", null, "type", 0])
        );
        assert_eq!(p.to_string(), "degrees.*.type.0");
        assert_eq!(p.top(), Some("degrees"));
        assert!(serde_json::from_value::<ClaimsPath>(json!(["a", -1])).is_err());
        assert!(serde_json::from_value::<ClaimsPath>(json!(["a", 1.5])).is_err());
        assert!(serde_json::from_value::<ClaimsPath>(json!(["a", true])).is_err());
    }
}
