//! `agent token`: mint a short-lived client secret for a browser or mobile client.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::token::{TokenOptions, mint_client_secret};

use super::super::args::GlobalArgs;
use super::super::exit::Failure;
use super::super::session::{load_config, missing_key};

/// Mints a secret with the configuration's model and session (its tools are left out: the
/// client that uses the secret runs its own) and prints it with its expiry.
pub(crate) async fn token(
    global: &GlobalArgs,
    expires_in: Option<u64>,
    api_base: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let config = load_config(global)?;
    let key = config
        .api_key()
        .ok_or_else(|| missing_key(config.api_key_env()))?;
    let mut options = TokenOptions::new(key, config.model());
    options.dialect = config.dialect();
    options.session = config.session();
    options.api_base = api_base;
    options.expires_after = expires_in.map(Duration::from_secs);
    let secret = mint_client_secret(&options).await?;
    if json {
        let object = serde_json::json!({
            "value": secret.value.expose(),
            "expires_at": secret.expires_at,
        });
        println!("{object}");
        return Ok(());
    }
    println!("{}", secret.value.expose());
    match secret.expires_at {
        Some(at) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            println!("expires {} (in {} s)", utc(at), at - now);
        }
        None => println!("expiry not reported by the server"),
    }
    Ok(())
}

/// `2026-08-01 12:10:00 UTC` for a Unix time.
fn utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_times_in_utc() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(1_754_050_200), "2025-08-01 12:10:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
