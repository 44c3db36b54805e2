//! Who the client is, for limits and the audit trail: its IP (from `X-Forwarded-For` only when
//! the direct peer is a trusted proxy), its user agent and the request id.

use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};

use super::error::ApiError;
use super::{request_id, AppState};
use crate::config::TrustedProxy;
use crate::service::audit::RequestMeta;

/// The client's address: the peer, or, behind trusted proxies, the nearest untrusted hop in
/// `X-Forwarded-For` (read from the right, since the left end is whatever the client wrote).
pub fn client_ip(req: &HttpRequest, trusted: &[TrustedProxy]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip())?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in req.headers().get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                // A malformed hop ends what can be believed.
                Err(_) => hops.clear(),
            }
        }
    }
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !is_trusted(*ip))
            .unwrap_or(peer),
    )
}

pub struct Client(pub RequestMeta);

impl Client {
    /// The key rate limits count by.
    pub fn ip_key(&self) -> String {
        self.0.ip.clone().unwrap_or_else(|| "unknown".into())
    }
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.config.trusted_proxies.clone())
            .unwrap_or_default();
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let request_id = Some(request_id::current()).filter(|id| !id.is_empty());
        ready(Ok(Client(RequestMeta {
            ip: client_ip(req, &trusted).map(|ip| ip.to_string()),
            user_agent,
            request_id,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter()
            .map(|p| TrustedProxy::parse(p).unwrap())
            .collect()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.5:1234".parse().unwrap())
            .insert_header(("X-Forwarded-For", "1.2.3.4"))
            .to_http_request();
        assert_eq!(client_ip(&req, &[]), Some("10.0.0.5".parse().unwrap()));
        assert_eq!(
            client_ip(&req, &proxies(&["10.0.0.0/8"])),
            Some("1.2.3.4".parse().unwrap())
        );
    }

    #[test]
    fn spoofed_left_hops_are_ignored() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.5:1234".parse().unwrap())
            .insert_header(("X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.0.0.9"))
            .to_http_request();
        assert_eq!(
            client_ip(&req, &proxies(&["10.0.0.0/8"])),
            Some("1.2.3.4".parse().unwrap())
        );
    }
}
