//! The tenant's correlation settings: upstream's defaults, and what is refused.

use super::*;

#[test]
fn the_default_settings_are_upstreams_and_valid() {
    let settings = CorrelationSettings::default();
    assert!(settings.enabled);
    assert!(!settings.shadow_mode);
    assert_eq!(settings.window_secs, 300);
    assert_eq!(settings.threshold, 0.6);
    assert_eq!(
        (
            settings.topology_weight,
            settings.time_weight,
            settings.similarity_weight
        ),
        (0.5, 0.3, 0.2)
    );
    assert_eq!((settings.max_candidates, settings.max_group_size), (20, 50));
    assert_eq!(settings.validate(), Ok(()));
}

#[test]
fn a_weight_outside_zero_to_one_is_refused() {
    let settings = CorrelationSettings {
        topology_weight: 1.2,
        time_weight: -0.1,
        similarity_weight: -0.1,
        ..CorrelationSettings::default()
    };
    let error = settings.validate().unwrap_err();
    assert_eq!(
        error,
        SettingsError::WeightOutOfRange {
            field: "topology_weight",
            value: 1.2,
        }
    );
    assert_eq!(
        error.to_string(),
        "topology_weight must be a number from 0 to 1, got 1.2"
    );

    let not_a_number = CorrelationSettings {
        time_weight: f64::NAN,
        ..CorrelationSettings::default()
    };
    assert!(matches!(
        not_a_number.validate(),
        Err(SettingsError::WeightOutOfRange {
            field: "time_weight",
            ..
        })
    ));
}

#[test]
fn weights_must_add_up_to_one() {
    let short = CorrelationSettings {
        similarity_weight: 0.1,
        ..CorrelationSettings::default()
    };
    let Err(SettingsError::WeightsDoNotSumToOne { sum }) = short.validate() else {
        panic!("expected the weights refused");
    };
    assert_close(sum, 0.9);

    let close_enough = CorrelationSettings {
        similarity_weight: 0.2 + 1e-7,
        ..CorrelationSettings::default()
    };
    assert_eq!(close_enough.validate(), Ok(()));
}

#[test]
fn a_threshold_outside_zero_to_one_is_refused() {
    for threshold in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        let settings = CorrelationSettings {
            threshold,
            ..CorrelationSettings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(SettingsError::ThresholdOutOfRange { .. })
        ));
    }
    for threshold in [0.0, 1.0] {
        let settings = CorrelationSettings {
            threshold,
            ..CorrelationSettings::default()
        };
        assert_eq!(settings.validate(), Ok(()));
    }
}

#[test]
fn windows_and_limits_outside_their_ranges_are_refused() {
    let defaults = CorrelationSettings::default;
    let window = |window_secs| CorrelationSettings {
        window_secs,
        ..defaults()
    };
    assert_eq!(
        window(0).validate(),
        Err(SettingsError::WindowOutOfRange { value: 0 })
    );
    assert_eq!(
        window(86_401).validate(),
        Err(SettingsError::WindowOutOfRange { value: 86_401 })
    );
    assert_eq!(window(86_400).validate(), Ok(()));
    assert_eq!(
        window(0).validate().unwrap_err().to_string(),
        "window_secs must be from 1 to 86400, got 0"
    );

    let candidates = |max_candidates| CorrelationSettings {
        max_candidates,
        ..defaults()
    };
    assert_eq!(
        candidates(0).validate(),
        Err(SettingsError::MaxCandidatesOutOfRange { value: 0 })
    );
    assert_eq!(
        candidates(101).validate(),
        Err(SettingsError::MaxCandidatesOutOfRange { value: 101 })
    );
    assert_eq!(candidates(100).validate(), Ok(()));

    let group = |max_group_size| CorrelationSettings {
        max_group_size,
        ..defaults()
    };
    assert_eq!(
        group(0).validate(),
        Err(SettingsError::MaxGroupSizeOutOfRange { value: 0 })
    );
    assert_eq!(
        group(10_001).validate(),
        Err(SettingsError::MaxGroupSizeOutOfRange { value: 10_001 })
    );
    assert_eq!(group(10_000).validate(), Ok(()));
}

#[test]
fn settings_read_from_json_take_defaults_for_missing_fields_and_refuse_unknown_ones() {
    let settings: CorrelationSettings =
        serde_json::from_str(r#"{"threshold": 0.7, "shadow_mode": true}"#).unwrap();
    assert_eq!(
        settings,
        CorrelationSettings {
            threshold: 0.7,
            shadow_mode: true,
            ..CorrelationSettings::default()
        }
    );
    assert!(serde_json::from_str::<CorrelationSettings>(r#"{"thresold": 0.7}"#).is_err());
}
