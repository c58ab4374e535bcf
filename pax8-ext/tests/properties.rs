//! Property tests: no value from the network reaches a panic, and no token reaches an error.

use std::time::Duration;

use pax8_ext::auth::{LIFETIME_BOUNDS, lifetime};
use pax8_ext::rate_limit::RateLimiter;
use proptest::prelude::*;

proptest! {
    #[test]
    fn every_token_lifetime_is_within_bounds(seconds in proptest::num::f64::ANY) {
        let d = lifetime(Some(seconds));
        let (min, max) = LIFETIME_BOUNDS;
        prop_assert!(d >= min && d <= max || d == Duration::from_secs(86_400), "{seconds} -> {d:?}");
        let _ = std::time::SystemTime::now() + d;
    }

    #[test]
    fn any_token_response_body_decodes_or_fails_without_panicking(body in ".{0,200}") {
        let _ = serde_json::from_str::<pax8_api::TokenResponse>(&body);
    }

    #[test]
    fn any_json_token_response_decodes_leniently(
        token in "[A-Za-z0-9._-]{1,40}",
        lifetime in prop_oneof![
            proptest::num::f64::ANY.prop_map(|f| serde_json::json!(f)),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            ".{0,12}".prop_map(|s| serde_json::json!(s)),
            Just(serde_json::Value::Null),
        ],
    ) {
        let body = serde_json::json!({"access_token": token, "expires_in": lifetime});
        let decoded: pax8_api::TokenResponse = serde_json::from_value(body).unwrap();
        prop_assert_eq!(decoded.access_token, token);
    }

    #[test]
    fn any_page_body_decodes_or_fails_without_panicking(
        number in any::<i64>(), total in any::<i64>(), elements in any::<i64>(), items in 0usize..3,
    ) {
        let content: Vec<_> = (0..items).map(|i| serde_json::json!({"id": uuid::Uuid::from_u128(i as u128), "name": "c", "address": {}})).collect();
        let body = serde_json::json!({"content": content, "page": {"number": number, "size": 200, "totalPages": total, "totalElements": elements}});
        if let Ok(page) = serde_json::from_value::<pax8_api::partner::types::FindCompaniesResponse>(body) {
            let parts = <pax8_api::partner::builder::FindCompanies<'_> as pax8_api::Paged>::into_parts(page);
            prop_assert_eq!(parts.items.len(), items);
            prop_assert_eq!(parts.number, u64::try_from(number).ok());
            prop_assert_eq!(parts.total_pages, u64::try_from(total).ok());
        }
    }

    #[test]
    fn the_rate_limiter_never_panics_whatever_it_is_given(
        per_minute in any::<u32>(), burst in any::<u32>(), calls in 0usize..50, throttle in any::<Option<u64>>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        rt.block_on(async {
            let limiter = RateLimiter::new(per_minute, burst);
            for i in 0..calls {
                let _ = limiter.reserve();
                if i == calls / 2 {
                    limiter.on_throttled(throttle.map(Duration::from_secs));
                }
                limiter.on_success();
            }
            assert!(limiter.current_per_minute() >= 1.0);
        });
    }
}
