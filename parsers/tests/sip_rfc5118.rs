//! RFC 5118 (SIP torture tests for IPv6): IPv6 references in Request-URIs, Via and Contact, including
//! the deliberately invalid ones. The messages were transcribed from the RFC text into
//! `vectors/rfc5118/` (one file per message, CRLF line ends).
#![cfg(test)]

use std::net::{IpAddr, Ipv6Addr};

use callguard_parsers::sip::{Anomalies, Host, Message};

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("vectors/rfc5118/", $name, ".dat")).as_slice()
    };
}

fn v6(s: &str) -> Host<'static> {
    Host::Ipv6(s.parse::<Ipv6Addr>().unwrap())
}

#[test]
fn ipv6_good_valid_message_with_an_ipv6_reference() {
    let m = Message::parse(vector!("ipv6-good")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.host(), Some(v6("2001:db8::10")));
    assert_eq!(uri.port(), None);
    let via = m.via_top().unwrap();
    assert_eq!(via.sent_by().host, v6("2001:db8::9:1"));
    assert_eq!(m.contact().unwrap().uri().host(), Some(v6("2001:db8::1")));
}

#[test]
fn ipv6_bad_unbracketed_ipv6_in_request_uri_is_flagged() {
    let m = Message::parse(vector!("ipv6-bad")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::BAD_REQUEST_URI);
    let uri = m.request_uri().unwrap();
    assert!(!uri.is_well_formed());
    assert!(!uri.host().unwrap().is_valid());
}

#[test]
fn port_ambiguous_brackets_hold_the_whole_address() {
    let m = Message::parse(vector!("port-ambiguous")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let uri = m.request_uri().unwrap();
    // RFC 5118 §4.3: 5070 is part of the address, there is no port.
    assert_eq!(uri.host(), Some(v6("2001:db8::10:5070")));
    assert_eq!(uri.port(), None);
}

#[test]
fn port_unambiguous_port_after_the_brackets() {
    let m = Message::parse(vector!("port-unambiguous")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.host(), Some(v6("2001:db8::10")));
    assert_eq!(uri.port(), Some(5070));
}

#[test]
fn via_received_param_with_and_without_delimiters() {
    let want: IpAddr = "2001:db8::9:255".parse().unwrap();
    for bytes in [
        vector!("via-received-param-with-delim"),
        vector!("via-received-param-no-delim"),
    ] {
        let m = Message::parse(bytes).unwrap();
        assert_eq!(m.anomalies(), Anomalies::NONE);
        let via = m.via_top().unwrap();
        assert_eq!(via.sent_by().host, v6("2001:db8::9:1"));
        assert_eq!(via.received_addr(), Some(want));
        assert!(via.branch().unwrap().starts_with("z9hG4bKas3"));
    }
    let m = Message::parse(vector!("via-received-param-with-delim")).unwrap();
    assert_eq!(m.via_top().unwrap().received(), Some("[2001:db8::9:255]"));
}

#[test]
fn mult_ip_in_header_mixed_address_families() {
    let m = Message::parse(vector!("mult-ip-in-header")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let vias: Vec<_> = m.vias().collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].sent_by().host, v6("2001:db8::9:1"));
    assert_eq!(vias[0].sent_by().port, Some(6050));
    assert_eq!(vias[1].sent_by().host, Host::Ipv4([192, 0, 2, 1].into()));
    assert_eq!(vias[2].sent_by().host, v6("2001:db8::9:255"));
    assert_eq!(vias[2].transport(), "TCP");
    assert_eq!(vias[2].received_addr(), "192.0.2.200".parse().ok());
}

#[test]
fn ipv4_mapped_ipv6_addresses() {
    let m = Message::parse(vector!("ipv4-mapped-ipv6")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let via = m.via_top().unwrap();
    assert_eq!(via.sent_by().host, v6("::ffff:192.0.2.10"));
    assert_eq!(via.sent_by().port, Some(19823));
    assert_eq!(
        m.contact().unwrap().uri().host(),
        Some(v6("::ffff:192.0.2.2"))
    );
    assert!(m.is_sdp());
    assert_eq!(Some(m.body().len()), m.content_length());
}

#[test]
fn ipv6_reference_with_three_colons_is_invalid() {
    let m = Message::parse(vector!("ipv6-bug-abnf-3-colons")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::BAD_REQUEST_URI);
    assert_eq!(
        m.request_uri().unwrap().host(),
        Some(Host::Invalid("[2001:db8:::192.0.2.1]"))
    );
}

#[test]
fn ipv6_reference_with_two_colons_and_embedded_ipv4_is_valid() {
    let m = Message::parse(vector!("ipv6-correct-abnf-2-colons")).unwrap();
    assert_eq!(m.anomalies(), Anomalies::NONE);
    assert_eq!(
        m.request_uri().unwrap().host(),
        Some(v6("2001:db8::192.0.2.1"))
    );
}
