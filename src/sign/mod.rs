//! Request signers, as pure functions: request parts, credentials and `now` in, header values
//! out. Each is tested step by step against the vendor's published vectors.

pub mod huawei;
pub mod tc3;
