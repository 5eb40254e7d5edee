//! Field types, nesting and limits in both forms; every decode error kind; encode errors.

use hb_wire::{
    classic, decode, encode, AuthMethod, DecodeError, DropKind, EncodeError, Field, KeyRing,
    Message, SendForm, Value, WireForm, MAX_DATAGRAM, MAX_DEPTH, MAX_FIELDS,
};

fn crc() -> KeyRing {
    KeyRing::single(1, AuthMethod::Crc).unwrap()
}

fn field(name: &str, value: Value) -> Field {
    Field {
        name: name.as_bytes().to_vec(),
        value,
    }
}

/// A netstring datagram from raw field contents, with a valid crc trailer.
fn ns(fields: &[&[u8]]) -> Vec<u8> {
    let mut d = b"###\n".to_vec();
    for f in fields {
        d.extend_from_slice(format!("{}:", f.len()).as_bytes());
        d.extend_from_slice(f);
        d.push(b',');
    }
    d.extend_from_slice(b"%%%\n");
    sign_ns(d)
}

fn sign_ns(mut body: Vec<u8>) -> Vec<u8> {
    let tok = crc().sign(&body);
    body.extend_from_slice(format!("{}:{},", tok.len(), tok).as_bytes());
    body
}

/// A classic datagram from raw lines, signed over the re-encoded fields (if they parse).
fn cl(lines: &[&[u8]]) -> Vec<u8> {
    let mut d = b">>>\n".to_vec();
    for l in lines {
        d.extend_from_slice(l);
        d.push(b'\n');
    }
    d.extend_from_slice(b"<<<\n\0");
    d
}

fn rich() -> Message {
    let mut inner = Message::with_type("inner");
    inner.push_str("multi", "line one\nline two");
    inner
        .fields
        .push(field("bin", Value::Bin(vec![0, 1, 2, 0x13, b'\n', 0xff])));
    inner.fields.push(field(
        "l",
        Value::List(vec![b"a".to_vec(), b"b c".to_vec()]),
    ));
    let mut inner2 = Message::new();
    inner2.push_str("deep", "x\ny");
    inner.fields.push(field("s2", Value::Struct(inner2)));
    let mut m = Message::with_type("api");
    m.push_str("text", "a\nb=c,d");
    m.fields.push(field("s", Value::Struct(inner)));
    m.fields.push(field(
        "list",
        Value::List(vec![b"x".to_vec(), b"yy".to_vec(), b"1:2,".to_vec()]),
    ));
    m.fields
        .push(field("z", Value::Compressed(vec![9, 8, 7, 0])));
    m.push_str("empty", "");
    m.push_bin("emptybin", []);
    m
}

#[test]
fn rich_message_round_trips_in_every_form() {
    let keys = crc();
    let m = rich();
    for form in [
        SendForm::Classic,
        SendForm::Netstring,
        SendForm::Netstring306,
    ] {
        let wire = encode(&m, &keys, form).unwrap();
        let mut back = decode(&wire, &keys).unwrap().msg;
        back.remove("auth");
        assert_eq!(back, m, "{form:?}");
    }
    // classic::encode always writes the classic form, structs included.
    let wire = classic::encode(&m, &keys).unwrap();
    let dec = decode(&wire, &keys).unwrap();
    assert_eq!(dec.form, WireForm::Classic);
    let mut back = dec.msg;
    back.remove("auth");
    assert_eq!(back, m);
}

#[test]
fn classic_with_struct_switches_to_netstring_like_2_0_8() {
    let keys = crc();
    let wire = encode(&rich(), &keys, SendForm::Classic).unwrap();
    let dec = decode(&wire, &keys).unwrap();
    assert_eq!(dec.form, WireForm::Netstring);
    assert!(
        dec.msg.get("auth").is_some(),
        "inner auth kept as 2.0.8 added it"
    );
    let mut plain = Message::with_type("x");
    plain.push_str("a", "b");
    let wire = encode(&plain, &keys, SendForm::Classic).unwrap();
    assert!(wire.starts_with(b">>>\n"));
}

#[test]
fn classic_text_of_types() {
    let mut m = Message::with_type("x");
    m.push_str("nl", "a\nb");
    m.push_bin("u", [0xff, 0xfe]);
    let mut inner = Message::new();
    inner.push_str("a", "b\nc");
    let mut inner2 = Message::new();
    inner2.push_str("d", "e");
    inner.fields.push(field("n", Value::Struct(inner2)));
    m.fields.push(field("s", Value::Struct(inner)));
    m.fields.push(field(
        "l",
        Value::List(vec![b"abc".to_vec(), b"defg".to_vec()]),
    ));
    m.fields.push(field("c", Value::Compressed(b"zz".to_vec())));
    let text = classic::auth_input(&m);
    let want: Vec<u8> = [
        &b"t=x\nnl=a\x13b\n(1)u=//4=\n(2)s="[..],
        b">>>\x14a=b\x13c\x14(2)n=>>>\x15d=e\x15<<<\x15\x14<<<\x14\n",
        b"(3)l=3:abc,4:defg,\n(4)c=eno=\n",
    ]
    .concat();
    assert_eq!(text, want);
}

#[test]
fn netstring_text_of_types() {
    let keys = crc();
    let mut inner = Message::new();
    inner.push_str("a", "b");
    let mut m = Message::new();
    m.fields.push(field("s", Value::Struct(inner)));
    m.fields.push(field(
        "l",
        Value::List(vec![b"abc".to_vec(), b"d".to_vec()]),
    ));
    let wire = encode(&m, &keys, SendForm::Netstring).unwrap();
    let body = b"###\n22:(2)s=###\n6:(0)a=b,%%%\n,15:(3)l=3:abc,1:d,,%%%\n";
    assert_eq!(&wire[..body.len()], body);
    assert_eq!(decode(&wire, &keys).unwrap().msg, m);
}

/// A message with `levels` struct fields nested inside each other.
fn nested(levels: usize) -> Message {
    let mut m = Message::with_type("leaf");
    for _ in 0..levels {
        let mut outer = Message::new();
        outer.fields.push(field("s", Value::Struct(m)));
        m = outer;
    }
    m
}

#[test]
fn nesting_limit() {
    let keys = crc();
    for form in [SendForm::Netstring, SendForm::Netstring306] {
        let ok = encode(&nested(MAX_DEPTH), &keys, form).unwrap();
        assert_eq!(decode(&ok, &keys).unwrap().msg, {
            let mut m = nested(MAX_DEPTH);
            if form == SendForm::Netstring306 {
                m.fields
                    .push(decode(&ok, &keys).unwrap().msg.fields.pop().unwrap());
            }
            m
        });
        assert_eq!(
            encode(&nested(MAX_DEPTH + 1), &keys, form),
            Err(EncodeError::TooDeep)
        );
    }
    let ok = classic::encode(&nested(MAX_DEPTH), &keys).unwrap();
    let mut back = decode(&ok, &keys).unwrap().msg;
    back.remove("auth");
    assert_eq!(back, nested(MAX_DEPTH));
    assert_eq!(
        classic::encode(&nested(MAX_DEPTH + 1), &keys),
        Err(EncodeError::TooDeep)
    );
    // Hand-made over-deep netstring: 17 levels of "(2)s=###\n...%%%\n".
    let mut inner = b"###\n9:(0)t=leaf,%%%\n".to_vec();
    for _ in 0..=MAX_DEPTH {
        let f = [&b"(2)s="[..], &inner].concat();
        inner = [
            &b"###\n"[..],
            format!("{}:", f.len()).as_bytes(),
            &f,
            b",%%%\n",
        ]
        .concat();
    }
    assert_eq!(decode(&sign_ns(inner), &keys), Err(DecodeError::TooDeep));
}

#[test]
fn field_count_limit() {
    let keys = crc();
    let mut m = Message::new();
    for i in 0..MAX_FIELDS - 1 {
        m.push_str(&format!("f{i}"), "v");
    }
    for form in [SendForm::Classic, SendForm::Netstring306] {
        let wire = encode(&m, &keys, form).unwrap();
        assert_eq!(decode(&wire, &keys).unwrap().msg.fields.len(), MAX_FIELDS);
    }
    m.push_str("one-more", "v");
    assert_eq!(
        encode(&m, &keys, SendForm::Classic),
        Err(EncodeError::TooManyFields)
    );
    let wire = encode(&m, &keys, SendForm::Netstring).unwrap();
    assert_eq!(decode(&wire, &keys).unwrap().msg.fields.len(), MAX_FIELDS);
    m.push_str("two-more", "v");
    assert_eq!(
        encode(&m, &keys, SendForm::Netstring),
        Err(EncodeError::TooManyFields)
    );
    // Decoding counts nested fields too.
    let many: Vec<Vec<u8>> = (0..=MAX_FIELDS)
        .map(|i| format!("(0)f{i}=v").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
    assert_eq!(decode(&ns(&refs), &keys), Err(DecodeError::TooManyFields));
}

#[test]
fn size_limits() {
    let keys = crc();
    let big = vec![0u8; MAX_DATAGRAM + 1];
    assert_eq!(
        decode(&big, &keys),
        Err(DecodeError::TooLarge {
            len: MAX_DATAGRAM + 1
        })
    );
    let mut m = Message::with_type("x");
    m.push_str("big", vec![b'a'; 70_000]);
    assert!(matches!(
        encode(&m, &keys, SendForm::Netstring),
        Err(EncodeError::TooLarge { .. })
    ));
    m.set_str("big", vec![b'a'; 60_000]);
    let wire = encode(&m, &keys, SendForm::Classic).unwrap();
    assert_eq!(
        decode(&wire, &keys)
            .unwrap()
            .msg
            .get_bytes("big")
            .unwrap()
            .len(),
        60_000
    );
}

#[test]
fn netstring_syntax_errors() {
    let keys = crc();
    let cases: Vec<(Vec<u8>, DropKind)> = vec![
        (ns(&[b"(0)t=x"]), DropKind::BadDigest), // placeholder replaced below
        (b"###\n6:(0)t=x,".to_vec(), DropKind::Truncated),
        (b"###\n6:(0)t=x".to_vec(), DropKind::Truncated),
        (b"###\n99:(0)t=x,%%%\n".to_vec(), DropKind::Truncated),
        (b"###\n9:(0)t=x,%%%\n".to_vec(), DropKind::BadFieldSyntax),
        (b"###\nx:(0)t=x,%%%\n".to_vec(), DropKind::BadLength),
        (b"###\n6;(0)t=x,%%%\n".to_vec(), DropKind::BadLength),
        (b"###\n-6:(0)t=x,%%%\n".to_vec(), DropKind::BadLength),
        (
            b"###\n1234567890:(0)t=x,%%%\n".to_vec(),
            DropKind::BadLength,
        ),
        (b"###\n5:(0)t=x,%%%\n".to_vec(), DropKind::BadFieldSyntax),
        (ns(&[b"(0)t"]), DropKind::BadFieldSyntax),
        (ns(&[b"(0)=x"]), DropKind::BadFieldSyntax),
        (ns(&[b"0)t=x"]), DropKind::BadFieldSyntax),
        (ns(&[b"(0t=x"]), DropKind::BadFieldSyntax),
        (ns(&[b""]), DropKind::BadFieldSyntax),
        (ns(&[b"(5)t=x"]), DropKind::BadFieldType),
        (ns(&[b"(9)t=x"]), DropKind::BadFieldType),
        (ns(&[b"(a)t=x"]), DropKind::BadFieldType),
        (ns(&[b"(3)l="]), DropKind::BadFieldSyntax),
        (ns(&[b"(3)l=0:,"]), DropKind::BadFieldSyntax),
        (ns(&[b"(3)l=2:a,"]), DropKind::BadFieldSyntax),
        (ns(&[b"(2)s=t=x"]), DropKind::BadFieldSyntax),
        (ns(&[b"(2)s=###\n6:(0)t=x,"]), DropKind::Truncated),
        (b"###\n6:(0)t=x,%%%\n10:1 abc".to_vec(), DropKind::NoTrailer),
        (b"###\n6:(0)t=x,%%%\n5:1 abc".to_vec(), DropKind::NoTrailer),
        (
            b"###\n6:(0)t=x,%%%\n4:1abc,".to_vec(),
            DropKind::BadAuthToken,
        ),
    ];
    for (i, (d, kind)) in cases.iter().enumerate().skip(1) {
        let e = decode(d, &keys).unwrap_err();
        assert_eq!(
            e.kind(),
            *kind,
            "case {i}: {:?} -> {e:?}",
            String::from_utf8_lossy(d)
        );
    }
    // The well-formed one is fine; trailing bytes after the trailer are ignored.
    let mut good = cases[0].0.clone();
    assert!(decode(&good, &keys).is_ok());
    good.extend_from_slice(b"\0junk");
    assert!(decode(&good, &keys).is_ok());
    // Values are raw bytes in this form.
    let d = ns(&[b"(0)v=a,b=c\n%%%\n\0", b"(1)u=\0\xff"]);
    let m = decode(&d, &keys).unwrap().msg;
    assert_eq!(m.get_bytes("v"), Some(&b"a,b=c\n%%%\n\0"[..]));
    assert_eq!(m.fields[1].value, Value::Bin(vec![0, 0xff]));
}

#[test]
fn classic_syntax_errors() {
    let keys = crc();
    let cases: Vec<(Vec<u8>, DropKind)> = vec![
        (cl(&[b"t=x", b"no equals"]), DropKind::BadFieldSyntax),
        (cl(&[b"=x"]), DropKind::BadFieldSyntax),
        (cl(&[b"(1)=AA=="]), DropKind::BadFieldSyntax),
        (cl(&[b"(1u=AA=="]), DropKind::BadFieldSyntax),
        (cl(&[b"(0)t=x"]), DropKind::BadFieldType),
        (cl(&[b"(5)t=x"]), DropKind::BadFieldType),
        (cl(&[b"(x)t=x"]), DropKind::BadFieldType),
        (cl(&[b"(1)u=A"]), DropKind::BadBase64),
        (cl(&[b"(4)c=!!!!"]), DropKind::BadBase64),
        (cl(&[b"(3)l=3:ab,"]), DropKind::BadFieldSyntax),
        (cl(&[b"(2)s=t=x"]), DropKind::BadFieldSyntax),
        (cl(&[b"(2)s=>>>\x14t=x\x14"]), DropKind::Truncated),
        (b">>>\nt=x\n".to_vec(), DropKind::Truncated),
        (b">>>\nt=x".to_vec(), DropKind::Truncated),
        (b">>>\n".to_vec(), DropKind::Truncated),
        (b">>>\nt=x\n<<<".to_vec(), DropKind::Truncated),
        (b">>>\nt=x\n<<<\0".to_vec(), DropKind::BadFieldSyntax),
        (cl(&[b"t=x"]), DropKind::NoAuth),
        (cl(&[b"t=x", b"(1)auth=AA=="]), DropKind::BadAuthToken),
        (cl(&[b"t=x", b"auth=1"]), DropKind::BadAuthToken),
        (cl(&[b"t=x", b"auth=300 abc"]), DropKind::BadAuthToken),
        (cl(&[b"t=x", b"auth=0 abc"]), DropKind::UnknownKeyIndex),
        (cl(&[b"t=x", b"auth=1 abc"]), DropKind::BadDigest),
    ];
    for (i, (d, kind)) in cases.iter().enumerate() {
        let e = decode(d, &keys).unwrap_err();
        assert_eq!(
            e.kind(),
            *kind,
            "case {i}: {:?} -> {e:?}",
            String::from_utf8_lossy(d)
        );
    }
    // Blank lines are skipped, a NUL ends the message, nothing after the end matters.
    let tok = crc().sign(b"t=x\n");
    let auth = format!("auth={tok}");
    for d in [
        cl(&[b"", b"t=x", b"", auth.as_bytes()]),
        [&b">>>\nt=x\n"[..], auth.as_bytes(), b"\0garbage"].concat(),
        [&b">>>\nt=x\n"[..], auth.as_bytes(), b"\n<<<\nmore=lines\n"].concat(),
    ] {
        let m = decode(&d, &keys)
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(&d)))
            .msg;
        assert_eq!(m.fields.len(), 2);
        assert_eq!(m.get("t"), Some("x"));
    }
}

#[test]
fn classic_string_newlines_and_encode_errors() {
    let keys = crc();
    let mut m = Message::with_type("x");
    m.push_str("v", "line1\nline2");
    let wire = encode(&m, &keys, SendForm::Classic).unwrap();
    assert!(wire.windows(13).any(|w| w == b"v=line1\x13line2"));
    assert_eq!(
        decode(&wire, &keys).unwrap().msg.get("v"),
        Some("line1\nline2")
    );

    let bad = |name: &str, value: Value| {
        let mut m = Message::with_type("x");
        m.fields.push(field(name, value));
        encode(&m, &keys, SendForm::Classic)
    };
    let s = |v: &[u8]| Value::Str(v.to_vec());
    assert!(matches!(
        bad("v", s(b"a\0b")),
        Err(EncodeError::BadValue { .. })
    ));
    assert!(matches!(
        bad("v", s(b"a\x13b")),
        Err(EncodeError::BadValue { .. })
    ));
    assert!(matches!(
        bad("a=b", s(b"x")),
        Err(EncodeError::BadName { .. })
    ));
    assert!(matches!(
        bad("a\nb", s(b"x")),
        Err(EncodeError::BadName { .. })
    ));
    assert!(matches!(bad("", s(b"x")), Err(EncodeError::BadName { .. })));
    assert!(matches!(
        bad("(1)x", s(b"x")),
        Err(EncodeError::BadName { .. })
    ));
    assert!(matches!(
        bad("l", Value::List(vec![])),
        Err(EncodeError::BadValue { .. })
    ));
    assert!(matches!(
        bad("l", Value::List(vec![b"a\nb".to_vec()])),
        Err(EncodeError::BadValue { .. })
    ));
    // A nested string holding the struct's newline symbol cannot be written classic.
    let mut inner = Message::new();
    inner.push_str("a", [0x14u8]);
    assert!(matches!(
        classic::encode(
            &{
                let mut m = Message::new();
                m.fields.push(field("s", Value::Struct(inner)));
                m
            },
            &keys
        ),
        Err(EncodeError::BadValue { .. })
    ));
    // The netstring form carries all of these values unchanged.
    let mut odd = Message::with_type("x");
    odd.push_str("v", b"a\0b\x13c\n");
    odd.fields
        .push(field("l", Value::List(vec![b"a\nb".to_vec()])));
    let wire = encode(&odd, &keys, SendForm::Netstring).unwrap();
    assert_eq!(decode(&wire, &keys).unwrap().msg, odd);
    assert!(encode(&odd, &keys, SendForm::Netstring306).is_ok());
    let mut eq = Message::new();
    eq.push_str("a=b", "x");
    assert!(matches!(
        encode(&eq, &keys, SendForm::Netstring),
        Err(EncodeError::BadName { .. })
    ));
}

#[test]
fn md5_and_sha1_senders_interoperate() {
    for method in [
        AuthMethod::Md5(b"k1".to_vec()),
        AuthMethod::Sha1(b"k1".to_vec()),
    ] {
        let keys = KeyRing::single(5, method.clone()).unwrap();
        let other_key = KeyRing::single(
            5,
            match method {
                AuthMethod::Md5(_) => AuthMethod::Md5(b"k2".to_vec()),
                _ => AuthMethod::Sha1(b"k2".to_vec()),
            },
        )
        .unwrap();
        let m = rich();
        for form in [
            SendForm::Classic,
            SendForm::Netstring,
            SendForm::Netstring306,
        ] {
            let wire = encode(&m, &keys, form).unwrap();
            assert_eq!(decode(&wire, &keys).unwrap().auth_index, 5);
            assert!(decode(&wire, &other_key).unwrap_err().is_auth_failure());
        }
    }
}
