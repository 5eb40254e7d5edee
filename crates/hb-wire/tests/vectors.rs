//! The test vectors of PROTOCOL.md section 7 (captured V1–V5 and the derived receiver
//! rules of 7.2) and the rejection cases of section 2.5.

mod support;

use hb_wire::{
    auth, classic, decode, encode, AuthMethod, DecodeError, KeyRing, Message, SendForm, Value,
    WireForm,
};
use support::{keys_for, packet, unhex};

struct Vector {
    file: &'static str,
    line: usize,
    hex: &'static str,
    /// (type, name, value); binary values as hex.
    fields: &'static [(u8, &'static str, &'static str)],
    inner_input: &'static str,
    signed_len: usize,
    trailer: &'static str,
}

fn check(v: &Vector) {
    let keys = keys_for(v.file);
    let d = unhex(v.hex);
    assert_eq!(d, packet(v.file, v.line), "{}:{} hex", v.file, v.line);
    let dec = decode(&d, &keys).unwrap();
    assert_eq!(dec.form, WireForm::Netstring);
    assert_eq!(dec.msg.fields.len(), v.fields.len());
    for (f, (ty, name, value)) in dec.msg.fields.iter().zip(v.fields) {
        assert_eq!(f.name, name.as_bytes());
        assert_eq!(f.value.type_num(), *ty, "{name}");
        let want = if *ty == 1 {
            Value::Bin(unhex(value))
        } else {
            Value::Str(value.as_bytes().to_vec())
        };
        assert_eq!(f.value, want, "{name}");
    }
    // Inner digest: input text and value.
    let input = classic::auth_input(&dec.msg);
    assert_eq!(String::from_utf8(input.clone()).unwrap(), v.inner_input);
    let tok = dec.msg.get("auth").unwrap();
    let (idx, dig) = tok.split_once(' ').unwrap();
    let method = keys.get(idx.parse().unwrap()).unwrap();
    assert_eq!(auth::digest(method, None, &input), dig);
    // Trailer: the signed bytes end with %%%\n, the trailer netstring follows.
    assert!(d[..v.signed_len].ends_with(b"%%%\n"));
    let trailer = std::str::from_utf8(&d[v.signed_len..]).unwrap();
    assert_eq!(trailer, v.trailer);
    let (_, tdig) = trailer
        .split_once(':')
        .unwrap()
        .1
        .trim_end_matches(',')
        .split_once(' ')
        .unwrap();
    assert_eq!(auth::digest(keys.active(), None, &d[..v.signed_len]), tdig);
    // Re-encoding reproduces it.
    assert_eq!(encode(&dec.msg, &keys, SendForm::Netstring306).unwrap(), d);
}

const V1_HEX: &str = "
2323230a31313a283029743d7374617475732c31303a28302973743d696e69742c393a28302964743d6262382c31333a
28302970726f746f636f6c3d312c383a2830297372633d612c32373a283129737263757569643d02f88d83a5e04fb4ae
6c20b3e7f0b5712c383a2830297365713d312c31343a28302968673d36623036313834322c31343a28302974733d3662
3036313834312c33303a2830296c643d302e323020302e303720302e303220332f393420353837362c383a2830297474
6c3d332c31383a283029617574683d312061653261613362302c2525250a31303a312034393861663035382c";

const V1_CLASSIC_HEX: &str = "
3e3e3e0a743d7374617475730a73743d696e69740a64743d6262380a70726f746f636f6c3d310a7372633d610a283129
737263757569643d4176694e67365867543753756243437a352f433163513d3d0a7365713d310a68673d366230363138
34320a74733d36623036313834310a6c643d302e323020302e303720302e303220332f393420353837360a74746c3d33
0a617574683d312061653261613362300a3c3c3c0a00";

const V4_HEX: &str = "
2323230a31363a283029743d68625f74616b656f7665722c31353a2830297273635f686f6c643d616c6c2c383a283029
7372633d622c32373a283129737263757569643d3c3b27a35b884f2082aad6195575d82c2c393a2830297365713d3737
2c31343a28302968673d36623036313834342c31343a28302974733d36623036313932392c33323a2830296c643d302e
303520302e303820302e303320332f3130302031383333322c383a28302974746c3d332c34323a283029617574683d33
2036323037306565623533313134343463636239363039373237363764383637322c2525250a33343a33203733383465
6636336139316161623365623565633739323038396232313061612c";

#[test]
fn v1_status_init_crc() {
    check(&Vector {
        file: "crc.jsonl",
        line: 1,
        hex: V1_HEX,
        fields: &[
            (0, "t", "status"),
            (0, "st", "init"),
            (0, "dt", "bb8"),
            (0, "protocol", "1"),
            (0, "src", "a"),
            (1, "srcuuid", "02f88d83a5e04fb4ae6c20b3e7f0b571"),
            (0, "seq", "1"),
            (0, "hg", "6b061842"),
            (0, "ts", "6b061841"),
            (0, "ld", "0.20 0.07 0.02 3/94 5876"),
            (0, "ttl", "3"),
            (0, "auth", "1 ae2aa3b0"),
        ],
        inner_input: "t=status\nst=init\ndt=bb8\nprotocol=1\nsrc=a\n(1)srcuuid=AviNg6XgT7SubCCz5/C1cQ==\nseq=1\nhg=6b061842\nts=6b061841\nld=0.20 0.07 0.02 3/94 5876\nttl=3\n",
        signed_len: 222,
        trailer: "10:1 498af058,",
    });
}

#[test]
fn v1_in_classic_form() {
    let keys = keys_for("crc.jsonl");
    let msg = decode(&unhex(V1_HEX), &keys).unwrap().msg;
    let classic = unhex(V1_CLASSIC_HEX);
    assert_eq!(classic.len(), 166);
    assert_eq!(encode(&msg, &keys, SendForm::Classic).unwrap(), classic);
    let back = decode(&classic, &keys).unwrap();
    assert_eq!(back.form, WireForm::Classic);
    assert_eq!(back.auth_index, 1);
    assert_eq!(
        back.msg, msg,
        "classic decode keeps the auth field, same fields"
    );
}

#[test]
fn v2_repnodes_dest_first_trailing_blanks() {
    check(&Vector {
        file: "crc.jsonl",
        line: 21,
        hex: "
2323230a393a283029646573743d622c31333a283029743d7265706e6f6465732c31363a2830296e6f64656c6973743d
612062202c31363a28302964656c6e6f64656c6973743d202c32383a28312964657374757569643d3c3b27a35b884f20
82aad6195575d82c2c383a2830297372633d612c32373a283129737263757569643d02f88d83a5e04fb4ae6c20b3e7f0
b5712c383a2830297365713d612c31343a28302968673d36623036313834322c31343a28302974733d36623036313834
322c33313a2830296c643d302e323020302e303720302e303220332f31303020353930342c383a28302974746c3d332c
31383a283029617574683d312064643332313661652c2525250a31303a312062626234623964372c",
        fields: &[
            (0, "dest", "b"),
            (0, "t", "repnodes"),
            (0, "nodelist", "a b "),
            (0, "delnodelist", " "),
            (1, "destuuid", "3c3b27a35b884f2082aad6195575d82c"),
            (0, "src", "a"),
            (1, "srcuuid", "02f88d83a5e04fb4ae6c20b3e7f0b571"),
            (0, "seq", "a"),
            (0, "hg", "6b061842"),
            (0, "ts", "6b061842"),
            (0, "ld", "0.20 0.07 0.02 3/100 5904"),
            (0, "ttl", "3"),
            (0, "auth", "1 dd3216ae"),
        ],
        inner_input: "dest=b\nt=repnodes\nnodelist=a b \ndelnodelist= \n(1)destuuid=PDsno1uITyCCqtYZVXXYLA==\nsrc=a\n(1)srcuuid=AviNg6XgT7SubCCz5/C1cQ==\nseq=a\nhg=6b061842\nts=6b061842\nld=0.20 0.07 0.02 3/100 5904\nttl=3\n",
        signed_len: 266,
        trailer: "10:1 bbb4b9d7,",
    });
}

#[test]
fn v3_ns_ackmsg() {
    check(&Vector {
        file: "crc.jsonl",
        line: 10,
        hex: "
2323230a31343a283029743d4e535f61636b6d73672c393a283029646573743d612c31313a28302961636b7365713d35
2c32383a28312964657374757569643d02f88d83a5e04fb4ae6c20b3e7f0b5712c383a2830297372633d612c32373a28
3129737263757569643d02f88d83a5e04fb4ae6c20b3e7f0b5712c31343a28302968673d36623036313834322c31343a
28302974733d36623036313834312c383a28302974746c3d332c31383a283029617574683d312038343033656636342c
2525250a31303a312063623038646633302c",
        fields: &[
            (0, "t", "NS_ackmsg"),
            (0, "dest", "a"),
            (0, "ackseq", "5"),
            (1, "destuuid", "02f88d83a5e04fb4ae6c20b3e7f0b571"),
            (0, "src", "a"),
            (1, "srcuuid", "02f88d83a5e04fb4ae6c20b3e7f0b571"),
            (0, "hg", "6b061842"),
            (0, "ts", "6b061841"),
            (0, "ttl", "3"),
            (0, "auth", "1 8403ef64"),
        ],
        inner_input: "t=NS_ackmsg\ndest=a\nackseq=5\n(1)destuuid=AviNg6XgT7SubCCz5/C1cQ==\nsrc=a\n(1)srcuuid=AviNg6XgT7SubCCz5/C1cQ==\nhg=6b061842\nts=6b061841\nttl=3\n",
        signed_len: 196,
        trailer: "10:1 cb08df30,",
    });
}

#[test]
fn v4_hb_takeover_md5() {
    check(&Vector {
        file: "md5.jsonl",
        line: 281,
        hex: V4_HEX,
        fields: &[
            (0, "t", "hb_takeover"),
            (0, "rsc_hold", "all"),
            (0, "src", "b"),
            (1, "srcuuid", "3c3b27a35b884f2082aad6195575d82c"),
            (0, "seq", "77"),
            (0, "hg", "6b061844"),
            (0, "ts", "6b061929"),
            (0, "ld", "0.05 0.08 0.03 3/100 18332"),
            (0, "ttl", "3"),
            (0, "auth", "3 62070eeb5311444ccb960972767d8672"),
        ],
        inner_input: "t=hb_takeover\nrsc_hold=all\nsrc=b\n(1)srcuuid=PDsno1uITyCCqtYZVXXYLA==\nseq=77\nhg=6b061844\nts=6b061929\nld=0.05 0.08 0.03 3/100 18332\nttl=3\n",
        signed_len: 230,
        trailer: "34:3 7384ef63a91aab3eb5ec792089b210aa,",
    });
}

#[test]
fn v5_resource_standby_sha1() {
    check(&Vector {
        file: "sha1.jsonl",
        line: 204,
        hex: "
2323230a31333a283029743d7265736f757263652c31363a2830297273635f686f6c643d6e6f6e652c31333a28302972
747970653d66756c6c2c31333a2830296973737461626c653d302c31353a283029696e666f3d7374616e6462792c383a
2830297372633d622c32373a283129737263757569643d3c3b27a35b884f2082aad6195575d82c2c393a283029736571
3d35352c31343a28302968673d36623036313834352c31343a28302974733d36623036313934392c33323a2830296c64
3d302e313320302e313020302e303420332f3130322031393832392c383a28302974746c3d332c35303a283029617574
683d3320373537396539623639323834383235376432343566663037656636333231626332376536303737372c252525
0a34323a3320653263353762613963306630623238666337323566336562343934356463636566333232373734382c",
        fields: &[
            (0, "t", "resource"),
            (0, "rsc_hold", "none"),
            (0, "rtype", "full"),
            (0, "isstable", "0"),
            (0, "info", "standby"),
            (0, "src", "b"),
            (1, "srcuuid", "3c3b27a35b884f2082aad6195575d82c"),
            (0, "seq", "55"),
            (0, "hg", "6b061845"),
            (0, "ts", "6b061949"),
            (0, "ld", "0.13 0.10 0.04 3/102 19829"),
            (0, "ttl", "3"),
            (0, "auth", "3 7579e9b692848257d245ff07ef6321bc27e60777"),
        ],
        inner_input: "t=resource\nrsc_hold=none\nrtype=full\nisstable=0\ninfo=standby\nsrc=b\n(1)srcuuid=PDsno1uITyCCqtYZVXXYLA==\nseq=55\nhg=6b061845\nts=6b061949\nld=0.13 0.10 0.04 3/102 19829\nttl=3\n",
        signed_len: 289,
        trailer: "42:3 e2c57ba9c0f0b28fc725f3eb4945dccef3227748,",
    });
}

// ---- 7.2: derived vectors (receiver configured like md5.jsonl) ----

fn v4_with_trailer(tok: Option<&str>) -> Vec<u8> {
    let mut d = unhex(V4_HEX)[..230].to_vec();
    if let Some(t) = tok {
        d.extend_from_slice(format!("{}:{},", t.len(), t).as_bytes());
    }
    d
}

#[test]
fn derived_trailer_table() {
    let keys = keys_for("md5.jsonl");
    let accept = |t: &str| decode(&v4_with_trailer(Some(t)), &keys);
    assert_eq!(
        accept("3 7384ef63a91aab3eb5ec792089b210aa")
            .unwrap()
            .auth_index,
        3
    );
    assert!(matches!(
        accept("3 7384EF63A91AAB3EB5EC792089B210AA"),
        Err(DecodeError::BadDigest {
            form: WireForm::Netstring,
            ..
        })
    ));
    // Index 2 with its own key: rejected, the receiver uses its active key (index 3's).
    // The error holds the received digest and the index, never the one computed here.
    match accept("2 77c5494d515ff03e053919d0b8100a03") {
        Err(e @ DecodeError::BadDigest { .. }) => {
            let DecodeError::BadDigest { got, index, .. } = &e else {
                unreachable!()
            };
            assert_eq!(got, "77c5494d515ff03e053919d0b8100a03");
            assert_eq!(*index, 2);
            assert!(!format!("{e} {e:?}").contains("7384ef63a91aab3eb5ec792089b210aa"));
        }
        other => panic!("{other:?}"),
    }
    // ... and that digest really is index 2's key over the same bytes.
    assert_eq!(
        auth::digest(keys.get(2).unwrap(), None, &unhex(V4_HEX)[..230]),
        "77c5494d515ff03e053919d0b8100a03"
    );
    assert_eq!(
        accept("2 7384ef63a91aab3eb5ec792089b210aa")
            .unwrap()
            .auth_index,
        2
    );
    assert_eq!(accept("1 43808b02").unwrap().auth_index, 1);
    assert_eq!(
        accept("9 7384ef63a91aab3eb5ec792089b210aa"),
        Err(DecodeError::UnknownKeyIndex(9))
    );
    assert_eq!(
        decode(&v4_with_trailer(None), &keys),
        Err(DecodeError::NoTrailer)
    );
}

fn v4_msg() -> Message {
    let mut m = decode(&unhex(V4_HEX), &keys_for("md5.jsonl")).unwrap().msg;
    m.remove("auth");
    m
}

/// The md5.jsonl key ring with another active index (to sign as a sender using it).
fn md5_keys_active(active: u8) -> KeyRing {
    KeyRing::new(
        active,
        [
            (1, AuthMethod::Crc),
            (2, AuthMethod::Md5(b"Hello-md5-key".to_vec())),
            (3, AuthMethod::Md5(b"Tr0ub4dor&3-md5".to_vec())),
        ],
    )
    .unwrap()
}

#[test]
fn derived_classic_signed_with_each_index() {
    let receiver = keys_for("md5.jsonl");
    for (idx, token, len) in [
        (3, "3 62070eeb5311444ccb960972767d8672", 185),
        (2, "2 9e303c522ead67ead675a1a1651d118b", 185),
        (1, "1 3c4286de", 161),
    ] {
        let wire = encode(&v4_msg(), &md5_keys_active(idx), SendForm::Classic).unwrap();
        assert_eq!(wire.len(), len, "index {idx}");
        let dec = decode(&wire, &receiver).unwrap();
        assert_eq!(dec.form, WireForm::Classic);
        assert_eq!(dec.auth_index, idx);
        assert_eq!(dec.msg.get("auth"), Some(token));
    }
}

fn v4_classic() -> Vec<u8> {
    encode(&v4_msg(), &keys_for("md5.jsonl"), SendForm::Classic).unwrap()
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = hay.windows(from.len()).position(|w| w == from).unwrap();
    [&hay[..at], to, &hay[at + from.len()..]].concat()
}

#[test]
fn derived_classic_rejections_and_tolerances() {
    let keys = keys_for("md5.jsonl");
    let good = v4_classic();
    assert!(decode(&good, &keys).is_ok());
    // Last hex digit of the auth value changed.
    let bad = replace(&good, b"8672\n<<<", b"8673\n<<<");
    match decode(&bad, &keys) {
        Err(e @ DecodeError::BadDigest { .. }) => {
            assert_eq!(
                e.to_string(),
                "string2msg_ll: node [b] failed authentication (key index 3, authtoken=62070eeb5311444ccb960972767d8673)"
            )
        }
        other => panic!("{other:?}"),
    }
    // Without the auth field.
    let noauth = replace(&good, b"auth=3 62070eeb5311444ccb960972767d8672\n", b"");
    assert_eq!(decode(&noauth, &keys), Err(DecodeError::NoAuth));
    // Without the trailing NUL, or with junk after <<<\n: accepted.
    assert!(decode(&good[..good.len() - 1], &keys).is_ok());
    let mut junk = good[..good.len() - 1].to_vec();
    junk.extend_from_slice(b"junk after the end\n>>>\n");
    assert!(decode(&junk, &keys).is_ok());
}

// ---- 2.5: receiver decisions ----

#[test]
fn section_2_5_classic_cases() {
    let keys = keys_for("md5.jsonl");
    let good = v4_classic();
    let idx9 = replace(&good, b"auth=3 ", b"auth=9 ");
    assert_eq!(decode(&idx9, &keys), Err(DecodeError::UnknownKeyIndex(9)));
    assert_eq!(
        DecodeError::UnknownKeyIndex(9).to_string(),
        "Invalid authentication [9] in message!"
    );
    let upper = replace(
        &good,
        b"62070eeb5311444ccb960972767d8672",
        b"62070EEB5311444CCB960972767D8672",
    );
    assert!(matches!(
        decode(&upper, &keys),
        Err(DecodeError::BadDigest { .. })
    ));
    // A token that is not "IDX DIGEST".
    let garbled = replace(&good, b"auth=3 ", b"auth=3");
    assert_eq!(
        decode(&garbled, &keys),
        Err(DecodeError::BadAuthToken(WireForm::Classic))
    );
    // The last auth field is the one checked (as the original's lookup loop does).
    let twice = replace(&good, b"t=hb_takeover\n", b"t=hb_takeover\nauth=1 0\n");
    assert!(decode(&twice, &keys).is_ok());
    let twice_bad = replace(&good, b"<<<\n", b"auth=1 0\n<<<\n");
    assert!(decode(&twice_bad, &keys).is_err());
}

#[test]
fn section_2_5_netstring_cases() {
    let keys = keys_for("crc.jsonl");
    let d = unhex(V1_HEX);
    // No trailer at all, or a broken one.
    assert_eq!(decode(&d[..222], &keys), Err(DecodeError::NoTrailer));
    assert_eq!(decode(&d[..230], &keys), Err(DecodeError::NoTrailer));
    let text = DecodeError::NoTrailer.to_string();
    assert_eq!(text, "peel_netstring() error in getting auth string");
    // Unknown index.
    let mut idx9 = d[..222].to_vec();
    idx9.extend_from_slice(b"10:9 498af058,");
    assert_eq!(decode(&idx9, &keys), Err(DecodeError::UnknownKeyIndex(9)));
    // Wrong digest; upper case; a leading zero on a crc.
    for tok in ["1 498af059", "1 498AF058", "1 0498af058"] {
        let mut bad = d[..222].to_vec();
        bad.extend_from_slice(format!("{}:{},", tok.len(), tok).as_bytes());
        match decode(&bad, &keys) {
            Err(e @ DecodeError::BadDigest { .. }) => assert_eq!(
                e.to_string(),
                format!(
                    "authtoken does not match, authtoken={} (key index 1, node [a])",
                    &tok[2..]
                )
            ),
            other => panic!("{tok}: {other:?}"),
        }
    }
    // Good trailer but a bad inner auth field: accepted, the field kept as it is.
    let mut msg = decode(&d, &keys).unwrap().msg;
    msg.set_str("auth", "1 deadbeef");
    let mut body = b"###\n".to_vec();
    for f in &msg.fields {
        let v = match &f.value {
            Value::Str(v) | Value::Bin(v) => v,
            other => panic!("unexpected {other:?}"),
        };
        let inner = [
            format!("({})", f.value.type_num()).as_bytes(),
            &f.name,
            b"=",
            v,
        ]
        .concat();
        body.extend_from_slice(format!("{}:", inner.len()).as_bytes());
        body.extend_from_slice(&inner);
        body.push(b',');
    }
    body.extend_from_slice(b"%%%\n");
    let tok = keys.sign(&body);
    body.extend_from_slice(format!("{}:{},", tok.len(), tok).as_bytes());
    let dec = decode(&body, &keys).unwrap();
    assert_eq!(dec.msg.get("auth"), Some("1 deadbeef"));
    // Missing inner auth field: accepted too (2.0.8 msgfmt netstring).
    let mut plain = msg.clone();
    plain.remove("auth");
    let wire = encode(&plain, &keys, SendForm::Netstring).unwrap();
    assert!(decode(&wire, &keys).unwrap().msg.field("auth").is_none());
}

#[test]
fn neither_magic_is_dropped() {
    let keys = keys_for("crc.jsonl");
    for d in [
        &b""[..],
        b"#",
        b"##",
        b"###",
        b"<<<\n",
        b">>>",
        b"%%%\n1:x,",
        b"\0\0\0\0",
    ] {
        assert_eq!(decode(d, &keys), Err(DecodeError::BadMagic), "{d:?}");
    }
}

#[test]
fn trailer_quirk_with_crc_active_uses_empty_key() {
    // Receiver active index 1 = crc, also holding index 2 = md5: an md5 trailer is checked
    // with the active (empty) key.
    let keys = KeyRing::new(
        1,
        [(1, AuthMethod::Crc), (2, AuthMethod::Md5(b"k".to_vec()))],
    )
    .unwrap();
    let d = unhex(V1_HEX);
    let signed = &d[..222];
    let with = |dig: String| {
        let tok = format!("2 {dig}");
        [signed, format!("{}:{},", tok.len(), tok).as_bytes()].concat()
    };
    let empty_key = auth::digest(&AuthMethod::Md5(Vec::new()), None, signed);
    let own_key = auth::digest(&AuthMethod::Md5(b"k".to_vec()), None, signed);
    assert!(decode(&with(empty_key), &keys).is_ok());
    assert!(decode(&with(own_key), &keys).is_err());
}
