//! One column of a PostgreSQL row, read by its server type (see `value::Column`).

use postgres::types::{FromSql, Type};

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// One column of a row, read by its server type (see [`super::Column`]).
pub(crate) struct Cell<'r> {
    row: &'r postgres::Row,
    i: usize,
}

/// Any value, read as nothing: tells NULL from a value of any type.
struct Present;

impl<'a> FromSql<'a> for Present {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Present)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

impl<'r> Cell<'r> {
    pub fn new(row: &'r postgres::Row, i: usize) -> Cell<'r> {
        Cell { row, i }
    }

    fn ty(&self) -> Result<&Type, String> {
        self.row.columns().get(self.i).map(|c| c.type_()).ok_or_else(|| format!("no column {}", self.i))
    }

    fn get<T: FromSql<'r>>(&self) -> Result<T, String> {
        self.row.try_get::<_, T>(self.i).map_err(|e| e.to_string())
    }

    pub fn is_null(&self) -> bool {
        matches!(self.row.try_get::<_, Option<Present>>(self.i), Ok(None))
    }

    pub fn int(&self) -> Result<i64, String> {
        match *self.ty()? {
            Type::INT8 => self.get::<i64>(),
            Type::INT4 => self.get::<i32>().map(i64::from),
            Type::INT2 => self.get::<i16>().map(i64::from),
            Type::BOOL => self.get::<bool>().map(i64::from),
            Type::NUMERIC | Type::FLOAT8 => Err("a fractional number where an integer was expected".into()),
            ref t => Err(format!("an integer read from a {t} column")),
        }
    }

    pub fn real(&self) -> Result<f64, String> {
        match *self.ty()? {
            Type::FLOAT8 => self.get::<f64>(),
            Type::FLOAT4 => self.get::<f32>().map(f64::from),
            _ => self.int().map(|i| i as f64),
        }
    }

    pub fn text(&self) -> Result<String, String> {
        self.get::<String>()
    }

    pub fn blob(&self) -> Result<Vec<u8>, String> {
        self.get::<Vec<u8>>()
    }

    /// The value as SQLite would hold it, chosen by the column's server type.
    pub fn dynamic(&self) -> Result<rusqlite::types::Value, String> {
        use rusqlite::types::Value as V;
        match *self.ty()? {
            Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL => self.int().map(V::Integer),
            Type::FLOAT8 | Type::FLOAT4 => self.real().map(V::Real),
            Type::BYTEA => self.blob().map(V::Blob),
            _ => self.text().map(V::Text),
        }
    }
}
