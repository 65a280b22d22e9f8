//! Text forms of the values the bindings and the CLI accept are parsed by the core, once:
//! every name round-trips through `Display` / `FromStr`, equals its serde name, and a bad
//! one is a coded error naming what was expected.

use std::str::FromStr;

use memorable_core::emotion::{catalog::Vocabulary, Semantics, Source};
use memorable_core::{Error, ErrorCode, Fusion, Profile, RecallMode, TimeWindow};

/// `Display` → `FromStr` is the identity, the name is the serde name, surrounding space is
/// ignored, and the case must be the serde name's (`exact_case`) or may differ.
fn round_trips<T>(all: &[T], exact_case: bool)
where
    T: Copy + std::fmt::Display + FromStr<Err = Error> + PartialEq + std::fmt::Debug + serde::Serialize,
{
    for v in all {
        let name = v.to_string();
        assert_eq!(name.parse::<T>().unwrap(), *v);
        assert_eq!(format!("  {name}  ").parse::<T>().unwrap(), *v);
        let upper = name.to_uppercase().parse::<T>();
        if exact_case {
            assert_eq!(upper.unwrap_err().code(), ErrorCode::InvalidInput, "{name} in capitals");
        } else {
            assert_eq!(upper.unwrap(), *v);
        }
        assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(name), "serde name of {v:?}");
    }
}

#[test]
fn named_enums_round_trip() {
    round_trips(&RecallMode::ALL, true);
    round_trips(&Fusion::ALL, true);
    round_trips(&Profile::ALL, false);
    round_trips(&Vocabulary::ALL, true);
}

#[test]
fn unknown_names_are_coded_errors_that_list_the_names() {
    let e = "fuzzy".parse::<RecallMode>().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("\"hybrid\", \"semantic\", \"keyword\""), "{e}");
    assert_eq!("median".parse::<Fusion>().unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!("cloud".parse::<Profile>().unwrap_err().code(), ErrorCode::InvalidConfig);
    let e = "klingon".parse::<Vocabulary>().unwrap_err();
    assert!(e.to_string().contains("goemotions"), "{e}");
}

#[test]
fn time_windows_from_names_and_seconds() {
    for (text, w) in [
        ("short", TimeWindow::Short),
        ("medium", TimeWindow::Medium),
        ("long", TimeWindow::Long),
        ("90", TimeWindow::Seconds(90)),
        ("90s", TimeWindow::Seconds(90)),
    ] {
        assert_eq!(text.parse::<TimeWindow>().unwrap(), w);
        assert_eq!(w.to_string().parse::<TimeWindow>().unwrap(), w, "{w}");
    }
    assert_eq!(TimeWindow::from_secs(90.0).unwrap(), TimeWindow::Seconds(90));
    for bad in [0.0, -5.0, 1.5, f64::NAN, f64::INFINITY] {
        let e = TimeWindow::from_secs(bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad}");
        assert!(e.to_string().contains("positive whole number of seconds"), "{e}");
    }
    assert_eq!("0".parse::<TimeWindow>().unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!("soon".parse::<TimeWindow>().unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn semantics_from_text_and_parts() {
    assert_eq!("dense".parse::<Semantics>().unwrap(), Semantics::Dense);
    assert_eq!("sparse".parse::<Semantics>().unwrap(), Semantics::Sparse { missing: 0.0, vocabulary: None });
    assert_eq!(
        Semantics::from_parts("sparse", Some(0.25), Some("hume")).unwrap(),
        Semantics::Sparse { missing: 0.25, vocabulary: Some(Vocabulary::Hume) }
    );
    assert_eq!(Semantics::from_parts("sparse", None, None).unwrap(), "sparse".parse().unwrap());
    assert_eq!(Semantics::from_parts("dense", Some(0.1), None).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(Semantics::sparse(0.0, Some("nope")).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!("thin".parse::<Semantics>().unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(Semantics::from_parts("sparse", None, Some("goemotions")).unwrap().to_string(), "sparse");
}

#[test]
fn sources_round_trip() {
    for s in ["text", "voice", "face", "evi", "custom:wearable"] {
        assert_eq!(s.parse::<Source>().unwrap().to_string(), s);
    }
    assert_eq!("telepathy".parse::<Source>().unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn batch_errors_name_their_item_and_keep_their_code() {
    let e = Error::InvalidMetadata("not an object".into()).in_item("item", 3);
    assert_eq!(e.code(), ErrorCode::InvalidMetadata);
    assert_eq!(e.to_string(), "invalid metadata: item 3: not an object");
    let e = Error::InvalidInput("bad score".into()).in_item("reading", 0);
    assert_eq!(e.to_string(), "invalid input: reading 0: bad score");
    // Errors whose message is fixed keep it: the code says what happened.
    assert_eq!(Error::EmptyText.in_item("item", 1).code(), ErrorCode::EmptyText);
}
