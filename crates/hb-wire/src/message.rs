//! The in-memory message model: an ordered list of typed fields.

/// A field value, by wire type number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Type 0: a string (bytes without NUL).
    Str(Vec<u8>),
    /// Type 1: binary bytes (base64 in the classic form), e.g. `srcuuid`.
    Bin(Vec<u8>),
    /// Type 2: a nested message.
    Struct(Message),
    /// Type 3: a list of strings.
    List(Vec<Vec<u8>>),
    /// Type 4: compressed bytes (kept as they are; never produced by v1 nodes).
    Compressed(Vec<u8>),
}

impl Value {
    /// The wire type number of this value.
    pub fn type_num(&self) -> u8 {
        match self {
            Value::Str(_) => 0,
            Value::Bin(_) => 1,
            Value::Struct(_) => 2,
            Value::List(_) => 3,
            Value::Compressed(_) => 4,
        }
    }
}

/// One named field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: Vec<u8>,
    pub value: Value,
}

/// An ordered list of fields. Lookups return the first field of a name; `set` replaces
/// the first field of that name in place, or appends, as the original does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub fields: Vec<Field>,
}

impl Message {
    pub fn new() -> Self {
        Message { fields: Vec::new() }
    }

    /// A message whose first field is `t=TYPE`.
    pub fn with_type(t: &str) -> Self {
        let mut m = Message::new();
        m.push_str("t", t);
        m
    }

    /// Appends a string field (does not look for an existing one).
    pub fn push_str(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.fields.push(Field {
            name: name.as_bytes().to_vec(),
            value: Value::Str(value.as_ref().to_vec()),
        });
        self
    }

    /// Appends a binary field.
    pub fn push_bin(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.fields.push(Field {
            name: name.as_bytes().to_vec(),
            value: Value::Bin(value.as_ref().to_vec()),
        });
        self
    }

    /// Replaces the first field called `name` in place, or appends it.
    pub fn set(&mut self, name: &str, value: Value) -> &mut Self {
        match self.fields.iter_mut().find(|f| f.name == name.as_bytes()) {
            Some(f) => f.value = value,
            None => self.fields.push(Field {
                name: name.as_bytes().to_vec(),
                value,
            }),
        }
        self
    }

    pub fn set_str(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.set(name, Value::Str(value.as_ref().to_vec()))
    }

    pub fn set_bin(&mut self, name: &str, value: impl AsRef<[u8]>) -> &mut Self {
        self.set(name, Value::Bin(value.as_ref().to_vec()))
    }

    /// Removes every field called `name`.
    pub fn remove(&mut self, name: &str) {
        self.fields.retain(|f| f.name != name.as_bytes());
    }

    /// The first field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name.as_bytes())
    }

    /// The raw bytes of the first string or binary field called `name`.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        match &self.field(name)?.value {
            Value::Str(v) | Value::Bin(v) | Value::Compressed(v) => Some(v),
            _ => None,
        }
    }

    /// The first string field called `name`, if it is valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        match &self.field(name)?.value {
            Value::Str(v) => std::str::from_utf8(v).ok(),
            _ => None,
        }
    }

    /// A string field holding a hex number (`seq`, `hg`, `ts`, `dt`, `ackseq`).
    pub fn get_hex(&self, name: &str) -> Option<u64> {
        let s = self.get(name)?;
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(s, 16).ok()
    }

    /// A string field holding a decimal number.
    pub fn get_dec(&self, name: &str) -> Option<u64> {
        let s = self.get(name)?;
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    /// The message type (`t`).
    pub fn msg_type(&self) -> Option<&str> {
        self.get("t")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_first_in_place() {
        let mut m = Message::with_type("status");
        m.push_str("src", "a")
            .push_str("seq", "1")
            .push_str("src", "z");
        m.set_str("src", "b");
        assert_eq!(m.fields[1].value, Value::Str(b"b".to_vec()));
        assert_eq!(m.fields[3].value, Value::Str(b"z".to_vec()));
        m.set_str("ttl", "3");
        assert_eq!(m.fields.last().unwrap().name, b"ttl");
    }

    #[test]
    fn numbers() {
        let mut m = Message::new();
        m.push_str("seq", "1f")
            .push_str("bad", "1g")
            .push_str("d", "17");
        assert_eq!(m.get_hex("seq"), Some(0x1f));
        assert_eq!(m.get_hex("bad"), None);
        assert_eq!(m.get_dec("d"), Some(17));
        assert_eq!(m.get_hex("missing"), None);
    }
}
