//! Small helpers over `hdf5` that turn every failure into an [`Error`] naming the file and path,
//! and read strings in every flavour h5py writes (variable-length UTF-8 / ASCII, fixed-length).

use crate::error::{Error, Result};
use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Dataset, Group, H5Type};
use ndarray::{Array1, Array2};
use std::path::Path;

/// Longest fixed-length string fitrnn reads (bytes); longer labels are an error.
const MAX_FIXED: usize = 256;

/// A dataset at `name` in `group`, or a clear "missing dataset" error with `fix`.
pub fn dataset(file: &Path, group: &Group, name: &str, fix: &str) -> Result<Dataset> {
    if !group.link_exists(name) {
        return Err(Error::data(
            file,
            join(group, name),
            "required dataset is missing",
            fix,
        ));
    }
    group.dataset(name).map_err(|_| {
        let problem = match link_type(group, name) {
            Some(hdf5::LinkType::Soft) => {
                "is a soft link to an object that does not exist in the file (a dangling link)"
            }
            Some(hdf5::LinkType::External) => {
                "is an external link to another file that cannot be opened (moved, renamed or missing), or to an object that file lacks"
            }
            _ if group.group(name).is_ok() => "is a group, not a dataset",
            _ => "is not a dataset",
        };
        Error::data(file, join(group, name), problem, fix)
    })
}

/// How `name` is linked into `group` (hard, soft or external); `None` if it cannot be told.
fn link_type(group: &Group, name: &str) -> Option<hdf5::LinkType> {
    group
        .find_link(
            hdf5::IndexType::Name,
            hdf5::IterationOrder::Increasing,
            |n, info| Ok((n == name).then_some(info.link_type)),
        )
        .ok()
        .flatten()
}

/// Full path of `name` inside `group`, for messages.
pub fn join(group: &Group, name: &str) -> String {
    let base = group.name();
    if base == "/" {
        format!("/{name}")
    } else {
        format!("{base}/{name}")
    }
}

fn describe(ds: &Dataset) -> String {
    match ds.dtype().and_then(|t| t.to_descriptor()) {
        Ok(d) => type_name(&d),
        Err(_) => "an unsupported type".into(),
    }
}

fn type_name(d: &TypeDescriptor) -> String {
    match d {
        TypeDescriptor::Integer(s) => format!("int{}", *s as usize * 8),
        TypeDescriptor::Unsigned(s) => format!("uint{}", *s as usize * 8),
        TypeDescriptor::Float(s) => format!("float{}", *s as usize * 8),
        TypeDescriptor::Boolean => "bool".into(),
        TypeDescriptor::FixedAscii(n) => format!("fixed-length ASCII string ({n} bytes)"),
        TypeDescriptor::FixedUnicode(n) => format!("fixed-length UTF-8 string ({n} bytes)"),
        TypeDescriptor::VarLenAscii => "variable-length ASCII string".into(),
        TypeDescriptor::VarLenUnicode => "variable-length UTF-8 string".into(),
        TypeDescriptor::Compound(c) => {
            let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
            let floats = c
                .fields
                .iter()
                .all(|f| matches!(f.ty, TypeDescriptor::Float(_)));
            if floats && matches!(names.as_slice(), ["r", "i"] | ["real", "imag"]) {
                format!(
                    "complex numbers ({} real and imaginary parts)",
                    type_name(&c.fields[0].ty)
                )
            } else {
                format!("a compound type (fields {})", names.join(", "))
            }
        }
        TypeDescriptor::Enum(_) => "an enumeration".into(),
        TypeDescriptor::FixedArray(t, n) => format!("arrays of {n} × {}", type_name(t)),
        TypeDescriptor::VarLenArray(t) => format!("variable-length arrays of {}", type_name(t)),
        TypeDescriptor::Reference(_) => "object references".into(),
    }
}

fn check_rank(file: &Path, ds: &Dataset, want: usize, shape_doc: &str) -> Result<Vec<usize>> {
    let shape = ds.shape();
    if shape.len() != want {
        return Err(Error::data(
            file,
            ds.name(),
            format!("expected a {want}-D array {shape_doc}, found shape {shape:?}"),
            format!("store it with shape {shape_doc}"),
        ));
    }
    Ok(shape)
}

fn is_float(ds: &Dataset) -> bool {
    matches!(
        ds.dtype().and_then(|t| t.to_descriptor()),
        Ok(TypeDescriptor::Float(_))
    )
}

fn is_numeric(ds: &Dataset) -> bool {
    matches!(
        ds.dtype().and_then(|t| t.to_descriptor()),
        Ok(TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_))
    )
}

fn read_err<'a>(file: &'a Path, ds: &Dataset) -> impl Fn(hdf5::Error) -> Error + 'a {
    let loc = ds.name();
    move |e| Error::hdf5(file, loc.clone(), e)
}

/// A 2-D floating-point dataset (float32 or float64) read as f32, with rank and type checks.
pub fn read_f32_2d(file: &Path, ds: &Dataset, shape_doc: &str) -> Result<Array2<f32>> {
    check_rank(file, ds, 2, shape_doc)?;
    if !is_float(ds) {
        return Err(Error::data(
            file,
            ds.name(),
            format!("expected float32 or float64, found {}", describe(ds)),
            "store the values as floating point (numpy float32 or float64)",
        ));
    }
    require_declared(file, ds, 4, "float32")?;
    ds.read_2d::<f32>().map_err(read_err(file, ds))
}

/// Refuse to read `ds` when its declared shape, at `bytes` per element read as `as_type`, needs
/// more memory than the machine has: a small or damaged file can declare 10¹¹ elements.
fn require_declared(file: &Path, ds: &Dataset, bytes: u128, as_type: &str) -> Result<()> {
    let cells = ds.shape().iter().map(|&d| d as u128).product::<u128>();
    crate::memory::require(
        cells * bytes,
        &format!(
            "{}: {} ({:?} as {as_type})",
            file.display(),
            ds.name(),
            ds.shape()
        ),
        "check the dataset's declared shape, or read a shorter excerpt of the recording",
    )
}

/// A 1-D numeric dataset read as f64, with rank and type checks.
pub fn read_f64_1d(file: &Path, ds: &Dataset, shape_doc: &str) -> Result<Vec<f64>> {
    check_rank(file, ds, 1, shape_doc)?;
    if !is_numeric(ds) {
        return Err(Error::data(
            file,
            ds.name(),
            format!("expected numbers, found {}", describe(ds)),
            "store the values as float64",
        ));
    }
    require_declared(file, ds, 8, "float64")?;
    Ok(ds
        .read_1d::<f64>()
        .map_err(read_err(file, ds))?
        .into_raw_vec_and_offset()
        .0)
}

/// A 1-D integer dataset read as i64, or `None` when it holds something else.
pub fn read_i64_1d(file: &Path, ds: &Dataset) -> Result<Option<Vec<i64>>> {
    match ds.dtype().and_then(|t| t.to_descriptor()) {
        Ok(TypeDescriptor::Unsigned(hdf5::types::IntSize::U8)) => {
            // Unsigned 64-bit values above i64::MAX would be clamped to it on reading.
            check_rank(file, ds, 1, "[n]")?;
            require_declared(file, ds, 8, "uint64")?;
            let v: Array1<u64> = ds.read_1d().map_err(read_err(file, ds))?;
            v.iter()
                .map(|&x| {
                    i64::try_from(x).map_err(|_| {
                        Error::data(
                            file,
                            ds.name(),
                            format!("the value {x} is above 2^63 − 1, the largest integer fitrnn reads"),
                            "store these values as int64, or as strings (e.g. np.char.mod('%d', ids))",
                        )
                    })
                })
                .collect::<Result<Vec<i64>>>()
                .map(Some)
        }
        Ok(TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)) => {
            check_rank(file, ds, 1, "[n]")?;
            require_declared(file, ds, 8, "int64")?;
            let v: Array1<i64> = ds.read_1d().map_err(read_err(file, ds))?;
            Ok(Some(v.into_raw_vec_and_offset().0))
        }
        _ => Ok(None),
    }
}

/// A 1-D string dataset in any flavour h5py writes, trimmed of padding.
pub fn read_strings(file: &Path, ds: &Dataset, shape_doc: &str) -> Result<Vec<String>> {
    check_rank(file, ds, 1, shape_doc)?;
    let desc = ds.dtype().and_then(|t| t.to_descriptor());
    // A variable-length string is at least a pointer and a short text; a fixed one its width.
    let per_entry = match &desc {
        Ok(TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n)) => *n as u128 + 24,
        _ => 32,
    };
    require_declared(file, ds, per_entry, "strings")?;
    let e = read_err(file, ds);
    let raw: Vec<Vec<u8>> = match desc {
        Ok(TypeDescriptor::VarLenUnicode) => bytes_of(ds.read_raw::<VarLenUnicode>(), &e)?,
        Ok(TypeDescriptor::VarLenAscii) => bytes_of(ds.read_raw::<VarLenAscii>(), &e)?,
        Ok(TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n)) if n > MAX_FIXED => {
            return Err(Error::data(
                file,
                ds.name(),
                format!("fixed-length strings of {n} bytes are longer than the {MAX_FIXED} fitrnn reads"),
                "store labels as variable-length strings (h5py's default for Python str)",
            ))
        }
        Ok(TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n)) => {
            fixed_bytes(file, ds, n)?
        }
        _ => {
            return Err(Error::data(
                file,
                ds.name(),
                format!("expected strings, found {}", describe(ds)),
                "store labels as strings (a list of Python str written with h5py)",
            ))
        }
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, b)| text_of(file, ds, i, b))
        .collect()
}

/// Every entry of the fixed-length string dataset `ds` (`size` bytes each) exactly as stored,
/// read in the file's own string type: a conversion to another length would stop at the first
/// NUL and silently cut a label such as `VI\0Sp` to `VI`.
fn fixed_bytes(file: &Path, ds: &Dataset, size: usize) -> Result<Vec<Vec<u8>>> {
    let n = ds.size();
    let mut buf = vec![0u8; n * size];
    let dtype = ds.dtype().map_err(read_err(file, ds))?;
    // SAFETY: the memory type is the dataset's own fixed-length string type (`size` bytes per
    // entry, no conversion), `buf` holds exactly `n · size` bytes, and the call runs under the
    // library's lock like every other hdf5 call.
    let status = hdf5::sync::sync(|| unsafe {
        hdf5_sys::h5d::H5Dread(
            ds.id(),
            dtype.id(),
            hdf5_sys::h5s::H5S_ALL,
            hdf5_sys::h5s::H5S_ALL,
            hdf5_sys::h5p::H5P_DEFAULT,
            buf.as_mut_ptr().cast(),
        )
    });
    if status < 0 {
        return Err(Error::data(
            file,
            ds.name(),
            "could not read its fixed-length strings",
            "check that the file is complete; h5py names the dataset it cannot read",
        ));
    }
    Ok(buf.chunks(size.max(1)).map(<[u8]>::to_vec).collect())
}

/// Entry `i` of the string dataset `ds` as text: the padding NULs of a fixed-length string are
/// dropped and surrounding blanks trimmed; a NUL inside the label (which would cut it short) and
/// bytes that are not UTF-8 are refused rather than silently altered.
fn text_of(file: &Path, ds: &Dataset, i: usize, mut bytes: Vec<u8>) -> Result<String> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    if let Some(k) = bytes.iter().position(|&b| b == 0) {
        return Err(Error::data(
            file,
            ds.name(),
            format!("entry {i} has a NUL byte at position {k}, which would cut the label short"),
            "write labels without NUL characters",
        ));
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(err) => Err(Error::data(
            file,
            ds.name(),
            format!(
                "entry {i} is not valid UTF-8 (byte {} of the label)",
                err.utf8_error().valid_up_to()
            ),
            "write labels as UTF-8 text (h5py does for Python str)",
        )),
    }
}

fn bytes_of<T: H5Type + AsBytes>(
    r: hdf5::Result<Vec<T>>,
    e: &impl Fn(hdf5::Error) -> Error,
) -> Result<Vec<Vec<u8>>> {
    Ok(r.map_err(e)?.iter().map(|s| s.raw().to_vec()).collect())
}

/// Common view of hdf5's string types, as the bytes stored.
trait AsBytes {
    fn raw(&self) -> &[u8];
}
impl AsBytes for VarLenUnicode {
    fn raw(&self) -> &[u8] {
        self.as_bytes()
    }
}
impl AsBytes for VarLenAscii {
    fn raw(&self) -> &[u8] {
        self.as_bytes()
    }
}
impl<const N: usize> AsBytes for FixedAscii<N> {
    fn raw(&self) -> &[u8] {
        self.as_bytes()
    }
}
impl<const N: usize> AsBytes for FixedUnicode<N> {
    fn raw(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A string attribute (any flavour) or `None` when absent.
pub fn string_attr(file: &Path, loc: &hdf5::Location, name: &str) -> Result<Option<String>> {
    if !loc
        .attr_names()
        .unwrap_or_default()
        .iter()
        .any(|n| n == name)
    {
        return Ok(None);
    }
    let a = loc
        .attr(name)
        .map_err(|e| Error::hdf5(file, format!("attribute {name}"), e))?;
    let desc = a.dtype().and_then(|t| t.to_descriptor());
    let ae = |e: hdf5::Error| Error::hdf5(file, format!("attribute {name}"), e);
    let s = match desc {
        Ok(TypeDescriptor::VarLenUnicode) => {
            a.read_scalar::<VarLenUnicode>().map_err(ae)?.to_string()
        }
        Ok(TypeDescriptor::VarLenAscii) => a.read_scalar::<VarLenAscii>().map_err(ae)?.to_string(),
        Ok(TypeDescriptor::FixedAscii(_)) => a
            .read_scalar::<FixedAscii<MAX_FIXED>>()
            .map_err(ae)?
            .to_string(),
        Ok(TypeDescriptor::FixedUnicode(_)) => a
            .read_scalar::<FixedUnicode<MAX_FIXED>>()
            .map_err(ae)?
            .to_string(),
        _ => {
            return Err(Error::data(
                file,
                format!("{} attribute {name}", loc.name()),
                "expected a string attribute",
                "",
            ))
        }
    };
    Ok(Some(s.trim_end_matches('\0').trim().to_string()))
}

/// A numeric scalar attribute read as f64, or `None` when absent.
pub fn f64_attr(file: &Path, loc: &hdf5::Location, name: &str) -> Result<Option<f64>> {
    if !loc
        .attr_names()
        .unwrap_or_default()
        .iter()
        .any(|n| n == name)
    {
        return Ok(None);
    }
    let a = loc
        .attr(name)
        .map_err(|e| Error::hdf5(file, format!("attribute {name}"), e))?;
    match a.read_scalar::<f64>() {
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(Error::data(
            file,
            format!("{} attribute {name}", loc.name()),
            "expected a number",
            format!("write it as a float, e.g. f.attrs['{name}'] = 30.0"),
        )),
    }
}

/// A scalar string dataset (NWB stores `location`, `indicator`, `genotype`, ... this way), or
/// `None` when absent. A 1-element 1-D string dataset is accepted too.
pub fn scalar_string(file: &Path, group: &Group, name: &str) -> Result<Option<String>> {
    if !group.link_exists(name) {
        return Ok(None);
    }
    let ds = group
        .dataset(name)
        .map_err(|e| Error::hdf5(file, join(group, name), e))?;
    let e = read_err(file, &ds);
    let s = match ds.dtype().and_then(|t| t.to_descriptor()) {
        Ok(TypeDescriptor::VarLenUnicode) => bytes_of(ds.read_raw::<VarLenUnicode>(), &e)?,
        Ok(TypeDescriptor::VarLenAscii) => bytes_of(ds.read_raw::<VarLenAscii>(), &e)?,
        Ok(TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n)) if n <= MAX_FIXED => {
            fixed_bytes(file, &ds, n)?
        }
        _ => {
            return Err(Error::data(
                file,
                ds.name(),
                format!("expected a string, found {}", describe(&ds)),
                "store it as a string, as pynwb does",
            ))
        }
    };
    s.into_iter()
        .next()
        .map(|b| text_of(file, &ds, 0, b))
        .transpose()
}

/// A scalar numeric dataset read as f64, or `None` when absent.
pub fn scalar_f64(file: &Path, group: &Group, name: &str) -> Result<Option<f64>> {
    if !group.link_exists(name) {
        return Ok(None);
    }
    let ds = group
        .dataset(name)
        .map_err(|e| Error::hdf5(file, join(group, name), e))?;
    if !is_numeric(&ds) {
        return Err(Error::data(
            file,
            ds.name(),
            format!("expected a number, found {}", describe(&ds)),
            "store it as a float",
        ));
    }
    let v: Vec<f64> = ds.read_raw::<f64>().map_err(read_err(file, &ds))?;
    Ok(v.first().copied())
}

/// A 1-D boolean column (h5py's enum bool, or integers 0/1).
pub fn read_bool_1d(file: &Path, ds: &Dataset) -> Result<Vec<bool>> {
    check_rank(file, ds, 1, "[n]")?;
    match ds.dtype().and_then(|t| t.to_descriptor()) {
        Ok(TypeDescriptor::Boolean) => ds.read_raw::<bool>().map_err(read_err(file, ds)),
        Ok(TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_)) => Ok(ds
            .read_raw::<i64>()
            .map_err(read_err(file, ds))?
            .into_iter()
            .map(|v| v != 0)
            .collect()),
        Ok(TypeDescriptor::Float(_)) => Ok(ds
            .read_raw::<f64>()
            .map_err(read_err(file, ds))?
            .into_iter()
            .map(|v| v == 1.0)
            .collect()),
        _ => Err(Error::data(
            file,
            ds.name(),
            format!("expected booleans, found {}", describe(ds)),
            "store the column as bool",
        )),
    }
}

/// True when `ds` holds strings of any flavour.
pub fn is_string(ds: &Dataset) -> bool {
    matches!(
        ds.dtype().and_then(|t| t.to_descriptor()),
        Ok(TypeDescriptor::VarLenUnicode
            | TypeDescriptor::VarLenAscii
            | TypeDescriptor::FixedAscii(_)
            | TypeDescriptor::FixedUnicode(_))
    )
}

/// True when `ds` holds numbers (integers or floats).
pub fn is_number(ds: &Dataset) -> bool {
    is_numeric(ds)
}
