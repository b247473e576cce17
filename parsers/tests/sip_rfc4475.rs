//! RFC 4475 (SIP torture test messages): every message of §3 is parsed, the valid ones (§3.1.1) with the
//! values the RFC says matter, the invalid ones (§3.1.2) either rejected or flagged with the specific
//! anomaly, and the semantic ones (§3.2-3.4) with the values a detector would look at.
#![cfg(test)]

use callguard_parsers::sip::{Anomalies, Host, Message, Method, Name, Scheme, StartLine, frame};
use callguard_parsers::{ErrorKind, Layer};

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("vectors/rfc4475/", $name, ".dat")).as_slice()
    };
}

/// The valid messages of RFC 4475 §3.1.1, by name (also used by the allocation test).
const VALID: [(&str, &[u8]); 13] = [
    ("wsinv", vector!("wsinv")),
    ("intmeth", vector!("intmeth")),
    ("esc01", vector!("esc01")),
    ("escnull", vector!("escnull")),
    ("esc02", vector!("esc02")),
    ("lwsdisp", vector!("lwsdisp")),
    ("longreq", vector!("longreq")),
    ("dblreq", vector!("dblreq")),
    ("semiuri", vector!("semiuri")),
    ("transports", vector!("transports")),
    ("mpart01", vector!("mpart01")),
    ("unreason", vector!("unreason")),
    ("noreason", vector!("noreason")),
];

fn parse(bytes: &[u8]) -> Message<'_> {
    Message::parse(bytes).unwrap()
}

fn request_uri<'a>(m: &Message<'a>) -> callguard_parsers::sip::Uri<'a> {
    m.request_uri().unwrap()
}

// §3.1.1 Valid messages

#[test]
fn wsinv_short_tortuous_invite() {
    let m = parse(vector!("wsinv"));
    assert_eq!(m.anomalies(), Anomalies::FOLDED);
    assert_eq!(m.method(), Some(Method::Invite));
    let uri = request_uri(&m);
    assert_eq!(uri.user(), Some("vivekg"));
    assert_eq!(uri.host(), Some(Host::Domain("chair-dnrc.example.com")));
    assert!(uri.params().has("unknownparam"));
    assert_eq!(m.to().unwrap().tag(), Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.display_name(), Some(r#"J Rosenberg \\\""#));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(m.max_forwards(), Some(68));
    assert_eq!(m.call_id(), Some("wsinv.ndaksdj@192.0.2.1"));
    assert_eq!(m.content_length(), Some(150));
    assert_eq!(m.body().len(), 150);
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.number, cseq.method), (9, Method::Invite));
    let vias: Vec<_> = m.vias().collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport(), "UDP");
    assert_eq!(vias[0].sent_by().host, Host::Ipv4([192, 0, 2, 2].into()));
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert_eq!(vias[1].transport(), "TCP");
    assert_eq!(vias[1].sent_by().host, Host::Domain("spindle.example.com"));
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(
        vias[2].sent_by().host,
        Host::Ipv4([192, 168, 255, 111].into())
    );
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert!(vias.iter().all(|v| v.is_well_formed()));
    assert_eq!(m.header(Name::Subject).unwrap().value.as_bytes(), b"");
    assert_eq!(
        m.header_by_name("newfangledheader")
            .unwrap()
            .value
            .to_string(),
        "newfangled value continued newfangled value"
    );
    let route = m.routes().next().unwrap();
    assert_eq!(
        route.uri().host(),
        Some(Host::Domain("services.example.com"))
    );
    assert!(route.uri().params().has("lr"));
    assert_eq!(route.uri().params().value("unknownwith"), Some("value"));
    let contact = m.contact().unwrap();
    assert_eq!(contact.display_name(), Some(r#"Quoted string \"\""#));
    assert_eq!(contact.params().value("newparam"), Some("newvalue"));
    assert!(contact.params().has("secondparam"));
    assert_eq!(contact.q(), Some("0.33"));
    assert!(m.is_sdp());
}

#[test]
fn intmeth_wide_range_of_valid_characters() {
    let m = parse(vector!("intmeth"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(m.method(), Some(Method::Other(method)));
    let uri = request_uri(&m);
    assert_eq!(uri.scheme(), Scheme::Sip);
    assert_eq!(
        uri.user(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert!(uri.has_password());
    assert!(!uri.to_string().contains("pas$wo~d"));
    assert_eq!(uri.host(), Some(Host::Domain("example.com")));
    assert_eq!(
        m.to().unwrap().display_name(),
        Some("BEL:\\\x07 NUL:\\\0 DEL:\\\x7f")
    );
    let from = m.from().unwrap();
    assert_eq!(from.display_name(), Some("token1~` token2'+_ token3*%!.-"));
    assert_eq!(
        from.params().value("fromParam''~+*_!.-%"),
        Some("работающий")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        m.call_id(),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(m.cseq().unwrap().method, Method::Other(method));
    assert_eq!(m.max_forwards(), Some(255));
    assert_eq!(m.via_top().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert_eq!(
        m.header_by_name("extensionHeader-!.%*+_`'~")
            .unwrap()
            .value
            .as_str(),
        Some("\u{FEFF}大停電")
    );
    assert_eq!(m.body(), b"");
}

#[test]
fn esc01_valid_use_of_the_percent_escaping_mechanism() {
    let m = parse(vector!("esc01"));
    assert_eq!(m.anomalies(), Anomalies::FOLDED);
    let uri = request_uri(&m);
    assert_eq!(uri.user(), Some("sips%3Auser%40example.com"));
    assert_eq!(uri.host(), Some(Host::Domain("example.net")));
    assert_eq!(m.to().unwrap().uri().user(), Some("%75se%72"));
    assert_eq!(m.from().unwrap().uri().user(), Some("I%20have%20spaces"));
    assert_eq!(m.call_id(), Some("esc01.239409asdfakjkn23onasd0-3234"));
    assert!(m.is_sdp());
    let contact = m.contact().unwrap();
    assert_eq!(contact.uri().user(), Some("cal%6Cer"));
    assert!(contact.uri().params().has("%6C%72"));
    assert_eq!(
        contact.uri().params().value("n%61me"),
        Some("v%61lue%25%34%31")
    );
    assert_eq!(m.body().len(), 150);
}

#[test]
fn escnull_escaped_nulls_in_uris() {
    let m = parse(vector!("escnull"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    assert_eq!(m.to().unwrap().uri().user(), Some("null-%00-null"));
    let users: Vec<_> = m.contacts().map(|c| c.uri().user()).collect();
    assert_eq!(users, [Some("%00"), Some("%00%00")]);
    assert_eq!(m.content_length(), Some(0));
}

#[test]
fn esc02_use_of_percent_when_it_is_not_an_escape() {
    let m = parse(vector!("esc02"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    // An escaped method is another method, not REGISTER.
    assert_eq!(m.method(), Some(Method::Other("RE%47IST%45R")));
    assert_eq!(m.cseq().unwrap().method, Method::Other("RE%47IST%45R"));
    assert_eq!(m.to().unwrap().display_name(), Some("%Z%45"));
    assert_eq!(m.via_top().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
    // "C%6Fntact" is not Contact.
    assert_eq!(m.header_count(Name::Contact), 2);
    assert!(m.header_by_name("C%6Fntact").is_some());
}

#[test]
fn lwsdisp_no_lws_between_display_name_and_laquot() {
    let m = parse(vector!("lwsdisp"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let from = m.from().unwrap();
    assert_eq!(from.display_name(), Some("caller"));
    assert_eq!(from.uri().user(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

#[test]
fn longreq_long_values_in_header_fields() {
    let m = parse(vector!("longreq"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let to = m.to().unwrap();
    assert!(
        to.display_name()
            .unwrap()
            .starts_with("I have a user name of extremeextreme")
    );
    assert_eq!(to.uri().port(), Some(6000));
    assert!(to.uri().params().has(
        "verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue"
    ));
    assert!(
        m.from().unwrap().tag().unwrap().ends_with("29824242424")
            || m.from().unwrap().tag().unwrap().ends_with("982424")
    );
    assert!(m.call_id().unwrap().ends_with("reallylongcallid"));
    assert_eq!(m.via_count(), 34);
    assert_eq!(m.header_count(Name::Via), 34);
    let top = m.via_top().unwrap();
    assert_eq!(top.sent_by().host, Host::Domain("sip33.example.com"));
    let last = m.vias().last().unwrap();
    assert_eq!(last.received(), Some("192.0.2.5"));
    assert!(last.branch().unwrap().ends_with("longbranchvalue"));
    assert_eq!(
        m.vias().nth(12).unwrap().sent_by().host,
        Host::Domain("sip21.example.com")
    );
    assert_eq!(m.body().len(), 150);
}

#[test]
fn dblreq_extra_trailing_octets_in_a_udp_datagram() {
    let bytes = vector!("dblreq");
    let m = parse(bytes);
    assert_eq!(m.anomalies(), Anomalies::BODY_EXTRA);
    assert_eq!(m.method(), Some(Method::Register));
    assert_eq!(m.call_id(), Some("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    assert_eq!(m.body(), b"");
    // The rest is a second message, which the RFC says to discard; it is still there to look at.
    let second = parse(m.extra());
    assert_eq!(second.method(), Some(Method::Invite));
    assert_eq!(second.to().unwrap().uri().user(), Some("joe"));
    assert!(second.anomalies().contains(Anomalies::LEADING_CRLF));
    assert_eq!(frame(bytes), Ok(bytes.len() - m.extra().len()));
}

#[test]
fn semiuri_semicolon_separated_parameters_in_uri_user_part() {
    let m = parse(vector!("semiuri"));
    assert_eq!(m.anomalies(), Anomalies::FOLDED);
    let uri = request_uri(&m);
    assert_eq!(uri.user(), Some("user;par=u%40example.net"));
    assert_eq!(uri.host(), Some(Host::Domain("example.com")));
    assert_eq!(uri.params().iter().count(), 0);
    assert_eq!(
        m.header_by_name("Accept").unwrap().value.to_string(),
        "application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag"
    );
}

#[test]
fn transports_varied_and_unknown_transport_types() {
    let m = parse(vector!("transports"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let t: Vec<_> = m.vias().map(|v| v.transport()).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    let branches: Vec<_> = m.vias().map(|v| v.branch().unwrap()).collect();
    assert_eq!(branches[3], "z9hG4bKasd0f3en");
    assert_eq!(m.call_id(), Some("transports.kijh4akdnaqjkwendsasfdj"));
}

#[test]
fn mpart01_multipart_mime_message() {
    let m = parse(vector!("mpart01"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    assert_eq!(m.method(), Some(Method::Message));
    let ct = m.content_type().unwrap();
    assert_eq!((ct.ty, ct.subtype), ("multipart", "mixed"));
    assert_eq!(ct.params.value("boundary"), Some("7a9cbec02ceef655"));
    assert!(!m.is_sdp());
    assert_eq!(m.body().len(), 553);
    assert!(m.body().starts_with(b"--7a9cbec02ceef655"));
    let via = m.via_top().unwrap();
    assert!(via.has_rport());
    assert_eq!(via.sent_by().port, Some(5070));
    assert!(m.identity().unwrap().starts_with("r5mwreLuyDRYBi"));
    assert_eq!(m.user_agent(), Some("SIPimp.org/0.2.5 (curses)"));
    assert_eq!(m.routes().next().unwrap().uri().port(), Some(5080));
}

#[test]
fn unreason_unusual_reason_phrase() {
    let m = parse(vector!("unreason"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let StartLine::Response { status, reason, .. } = m.start_line() else {
        panic!("not a response");
    };
    assert_eq!(*status, 200);
    assert_eq!(
        reason.as_str(),
        Some("= 2**3 * 5**2 но сто девяносто девять - простое")
    );
    assert_eq!(m.body().len(), 154);
}

#[test]
fn noreason_empty_reason_phrase() {
    let m = parse(vector!("noreason"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let StartLine::Response { status, reason, .. } = m.start_line() else {
        panic!("not a response");
    };
    assert_eq!((*status, reason.as_bytes()), (100, &b""[..]));
    assert_eq!(m.to().unwrap().tag(), Some("902jndnke3"));
}

#[test]
fn every_valid_vector_frames_as_it_parses() {
    for (name, bytes) in VALID {
        let m = parse(bytes);
        assert!(m.header_count(Name::Via) > 0, "{name}");
        let n = frame(bytes).unwrap();
        assert_eq!(n, bytes.len() - m.extra().len(), "{name}");
        assert!(!m.to_string().is_empty());
    }
}

// §3.1.2 Invalid messages

#[test]
fn badinv01_extraneous_header_field_separators() {
    let m = parse(vector!("badinv01"));
    assert_eq!(m.anomalies(), Anomalies::BAD_VIA | Anomalies::BAD_NAME_ADDR);
    assert_eq!(m.via_count(), 4);
}

#[test]
fn clerr_content_length_larger_than_message() {
    let bytes = vector!("clerr");
    let m = parse(bytes);
    assert_eq!(m.anomalies(), Anomalies::BODY_TRUNCATED);
    assert_eq!(m.content_length(), Some(9999));
    assert_eq!(m.body().len(), 154);
    let e = frame(bytes).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Incomplete { needed: 9999 - 154 });
}

#[test]
fn ncl_negative_content_length() {
    let bytes = vector!("ncl");
    let m = parse(bytes);
    assert_eq!(m.anomalies(), Anomalies::BAD_CONTENT_LENGTH);
    assert_eq!(m.content_length(), None);
    assert_eq!(m.cseq().unwrap().number, 0);
    assert_eq!(frame(bytes).unwrap_err().kind, ErrorKind::Invalid);
}

#[test]
fn scalar02_request_scalar_fields_with_overlarge_values() {
    let m = parse(vector!("scalar02"));
    assert!(
        m.anomalies()
            .contains(Anomalies::BAD_CSEQ | Anomalies::BAD_MAX_FORWARDS | Anomalies::BAD_EXPIRES)
    );
    assert_eq!(m.cseq(), None);
    assert_eq!(m.max_forwards(), None);
    assert_eq!(m.expires(), None);
    assert_eq!(m.contact().unwrap().expires(), None);
}

#[test]
fn scalarlg_response_scalar_fields_with_overlarge_values() {
    let m = parse(vector!("scalarlg"));
    assert_eq!(m.anomalies(), Anomalies::BAD_CSEQ);
    assert_eq!(m.status(), Some(503));
    assert_eq!(m.via_top().unwrap().received(), Some("192.0.2.129"));
}

#[test]
fn quotbal_unterminated_quoted_string_in_display_name() {
    let m = parse(vector!("quotbal"));
    assert_eq!(m.anomalies(), Anomalies::BAD_NAME_ADDR);
    assert!(!m.to().unwrap().is_well_formed());
}

#[test]
fn ltgtruri_request_uri_in_angle_brackets() {
    let m = parse(vector!("ltgtruri"));
    assert_eq!(m.anomalies(), Anomalies::BAD_REQUEST_URI);
    assert_eq!(request_uri(&m).as_str(), "<sip:user@example.com>");
}

#[test]
fn lwsruri_embedded_lws_in_request_uri() {
    let m = parse(vector!("lwsruri"));
    assert_eq!(m.anomalies(), Anomalies::BAD_REQUEST_URI);
    assert_eq!(request_uri(&m).as_str(), "sip:user@example.com; lr");
}

#[test]
fn lwsstart_multiple_sp_separating_request_line_elements() {
    let m = parse(vector!("lwsstart"));
    assert_eq!(m.anomalies(), Anomalies::START_LINE_WHITESPACE);
    assert_eq!(request_uri(&m).as_str(), "sip:user@example.com");
}

#[test]
fn trws_sp_at_end_of_request_line() {
    let m = parse(vector!("trws"));
    assert_eq!(m.anomalies(), Anomalies::START_LINE_WHITESPACE);
    assert!(m.version().is_sip_2_0());
}

#[test]
fn escruri_escaped_headers_in_request_uri() {
    let m = parse(vector!("escruri"));
    assert_eq!(m.anomalies(), Anomalies::BAD_REQUEST_URI);
    assert_eq!(
        request_uri(&m).headers(),
        Some("Route=%3Csip:example.com%3E")
    );
}

#[test]
fn baddate_invalid_time_zone() {
    let m = parse(vector!("baddate"));
    assert_eq!(m.anomalies(), Anomalies::BAD_DATE);
}

#[test]
fn regbadct_contact_with_headers_not_in_angle_brackets() {
    let m = parse(vector!("regbadct"));
    assert_eq!(m.anomalies(), Anomalies::BAD_NAME_ADDR);
    assert!(!m.contact().unwrap().is_bracketed());
}

#[test]
fn badaspec_spaces_within_addr_spec() {
    let m = parse(vector!("badaspec"));
    assert_eq!(m.anomalies(), Anomalies::BAD_NAME_ADDR);
    assert_eq!(m.to().unwrap().uri().user(), Some("t.watson"));
}

#[test]
fn baddn_non_token_characters_in_display_name() {
    // The copy here also lacks the final empty line.
    let m = parse(vector!("baddn"));
    assert_eq!(
        m.anomalies(),
        Anomalies::BAD_NAME_ADDR | Anomalies::UNTERMINATED_HEADERS
    );
    assert_eq!(m.from().unwrap().display_name(), Some("Bell, Alexander"));
    assert!(matches!(
        frame(vector!("baddn")).unwrap_err().kind,
        ErrorKind::Incomplete { .. }
    ));
}

#[test]
fn badvers_unknown_protocol_version() {
    let m = parse(vector!("badvers"));
    assert_eq!(m.anomalies(), Anomalies::UNKNOWN_VERSION);
    assert_eq!(m.version().as_str(), "SIP/7.0");
    assert_eq!(m.via_top().unwrap().version(), "7.0");
}

#[test]
fn mismatch01_start_line_and_cseq_method_mismatch() {
    let m = parse(vector!("mismatch01"));
    assert_eq!(m.anomalies(), Anomalies::CSEQ_METHOD_MISMATCH);
}

#[test]
fn mismatch02_unknown_method_with_cseq_method_mismatch() {
    let m = parse(vector!("mismatch02"));
    assert_eq!(m.anomalies(), Anomalies::CSEQ_METHOD_MISMATCH);
    assert_eq!(m.method(), Some(Method::Other("NEWMETHOD")));
}

#[test]
fn bigcode_overlarge_response_code_is_rejected() {
    let e = Message::parse(vector!("bigcode")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert_eq!(e.layer, Layer::Udp);
    assert_eq!(e.offset, 8);
}

// §3.2 Transaction layer semantics

#[test]
fn badbranch_missing_transaction_identifier() {
    let m = parse(vector!("badbranch"));
    let via = m.via_top().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));
    assert!(!via.has_rfc3261_branch());
}

// §3.3 Application layer semantics

#[test]
fn insuf_missing_required_header_fields() {
    let m = parse(vector!("insuf"));
    assert_eq!(m.anomalies(), Anomalies::MISSING_MANDATORY);
    assert_eq!(m.from(), None);
    assert_eq!(m.call_id(), None);
}

#[test]
fn unkscm_request_uri_with_unknown_scheme() {
    let m = parse(vector!("unkscm"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    let uri = request_uri(&m);
    assert_eq!(uri.scheme(), Scheme::Other("nobodyKnowsThisScheme"));
    assert_eq!(uri.host(), None);
}

#[test]
fn novelsc_request_uri_with_known_but_atypical_scheme() {
    let m = parse(vector!("novelsc"));
    assert_eq!(request_uri(&m).scheme(), Scheme::Other("soap.beep"));
}

#[test]
fn unksm2_unknown_uri_schemes_in_header_fields() {
    let m = parse(vector!("unksm2"));
    assert_eq!(m.to().unwrap().uri().scheme(), Scheme::Other("isbn"));
    assert_eq!(m.from().unwrap().uri().scheme(), Scheme::Other("http"));
    assert_eq!(m.contact().unwrap().uri().scheme(), Scheme::Other("name"));
}

#[test]
fn bext01_unknown_required_extensions_are_readable() {
    let m = parse(vector!("bext01"));
    assert_eq!(m.values(Name::Require).count(), 2);
    assert_eq!(
        m.values(Name::ProxyRequire).nth(1),
        Some("norDoAnyProxiesSupportThis")
    );
    assert_eq!(m.via_top().unwrap().transport(), "TLS");
}

#[test]
fn invut_unknown_content_type() {
    let m = parse(vector!("invut"));
    assert!(!m.is_sdp());
    assert_eq!(m.content_type().unwrap().subtype, "unknownformat");
    assert_eq!(m.body().len(), 40);
}

#[test]
fn regaut01_unknown_authorization_scheme() {
    let m = parse(vector!("regaut01"));
    let c = m.authorization().unwrap();
    assert_eq!(c.scheme(), "NoOneKnowsThisScheme");
    assert!(!c.is_digest());
    assert!(!c.has_response());
}

#[test]
fn multi01_multiple_values_in_single_value_fields() {
    let m = parse(vector!("multi01"));
    assert_eq!(m.anomalies(), Anomalies::DUPLICATE_SINGLE_HEADER);
    assert_eq!(m.header_count(Name::CSeq), 2);
    assert_eq!(m.header_count(Name::CallId), 2);
    assert_eq!(m.header_count(Name::To), 2);
    assert_eq!(m.header_count(Name::From), 2);
    assert_eq!(m.header_count(Name::MaxForwards), 2);
    assert_eq!(m.cseq().unwrap().number, 5);
}

#[test]
fn mcl01_multiple_content_length_values() {
    let bytes = vector!("mcl01");
    let m = parse(bytes);
    assert_eq!(
        m.anomalies(),
        Anomalies::DUPLICATE_CONTENT_LENGTH
            | Anomalies::CONTENT_LENGTH_MISMATCH
            | Anomalies::BODY_EXTRA
    );
    let e = frame(bytes).unwrap_err();
    assert_eq!((e.kind, e.layer), (ErrorKind::Invalid, Layer::Tcp));
}

#[test]
fn bcast_200_ok_with_broadcast_via() {
    let m = parse(vector!("bcast"));
    let hosts: Vec<_> = m.vias().map(|v| v.sent_by().host).collect();
    assert_eq!(hosts[1], Host::Ipv4([255, 255, 255, 255].into()));
}

#[test]
fn zeromf_max_forwards_of_zero() {
    let m = parse(vector!("zeromf"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    assert_eq!(m.max_forwards(), Some(0));
}

#[test]
fn cparam01_register_with_contact_header_parameter() {
    let m = parse(vector!("cparam01"));
    let c = m.contact().unwrap();
    assert!(c.params().has("unknownparam"));
    assert!(!c.uri().params().has("unknownparam"));
}

#[test]
fn cparam02_register_with_url_parameter() {
    let m = parse(vector!("cparam02"));
    let c = m.contact().unwrap();
    assert!(c.uri().params().has("unknownparam"));
    assert!(!c.params().has("unknownparam"));
}

#[test]
fn regescrt_register_with_url_escaped_header() {
    let m = parse(vector!("regescrt"));
    assert_eq!(m.anomalies(), Anomalies::NONE);
    assert_eq!(
        m.contact().unwrap().uri().headers(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
}

#[test]
fn sdp01_unacceptable_accept_offering() {
    let m = parse(vector!("sdp01"));
    assert!(m.is_sdp());
    assert_eq!(m.body().len(), 150);
}

// §3.4 Backward compatibility

#[test]
fn inv2543_invite_with_rfc2543_syntax() {
    let bytes = vector!("inv2543");
    let m = parse(bytes);
    assert_eq!(m.anomalies(), Anomalies::NONE);
    assert_eq!(m.via_top().unwrap().branch(), None);
    // No Content-Length over a datagram: the body is the rest.
    assert_eq!(m.content_length(), None);
    assert_eq!(m.body().len(), 105);
    // An addr-spec's parameters are header parameters (RFC 3261 §20.10); inside <> they are URI ones.
    assert_eq!(m.to().unwrap().params().value("user"), Some("phone"));
    assert_eq!(
        m.from().unwrap().uri().params().value("user"),
        Some("phone")
    );
    assert_eq!(
        m.record_routes()
            .next()
            .unwrap()
            .uri()
            .params()
            .value("maddr"),
        Some("ss1.example.com")
    );
    // Over a stream the missing length means an empty body.
    assert_eq!(frame(bytes), Ok(bytes.len() - 105));
}
