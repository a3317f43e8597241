//! Listing results as Arrow, exported through the Arrow PyCapsule interface.
//!
//! The library imports no Arrow package: the objects returned implement `__arrow_c_array__`,
//! `__arrow_c_stream__` and `__arrow_c_schema__`, which pyarrow, arro3-core, polars and others
//! consume without copying. When `arro3.core` is installed the results are handed over as its
//! `RecordBatch` / `Table` (the types obstore 0.12 returned), again without copying.

use std::sync::Arc;

use arrow_array::ffi::{to_ffi, FFI_ArrowSchema};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{
    RecordBatch, RecordBatchIterator, StringArray, StructArray, TimestampMicrosecondArray,
    UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use object_store::ObjectMeta;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyTuple};

fn arrow_error(err: ArrowError) -> PyErr {
    PyValueError::new_err(format!("Arrow error: {err}"))
}

/// The schema of listing results.
pub fn list_schema() -> SchemaRef {
    static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("path", DataType::Utf8, false),
                Field::new(
                    "last_modified",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    false,
                ),
                Field::new("size", DataType::UInt64, false),
                Field::new("e_tag", DataType::Utf8, true),
                Field::new("version", DataType::Utf8, true),
            ]))
        })
        .clone()
}

fn batch_from_metas(metas: &[ObjectMeta]) -> PyResult<RecordBatch> {
    let path = StringArray::from_iter_values(metas.iter().map(|m| m.location.as_ref()));
    let last_modified = TimestampMicrosecondArray::from_iter_values(
        metas.iter().map(|m| m.last_modified.timestamp_micros()),
    )
    .with_timezone("UTC");
    let size = UInt64Array::from_iter_values(metas.iter().map(|m| m.size));
    let e_tag: StringArray = metas.iter().map(|m| m.e_tag.as_deref()).collect();
    let version: StringArray = metas.iter().map(|m| m.version.as_deref()).collect();
    RecordBatch::try_new(
        list_schema(),
        vec![
            Arc::new(path),
            Arc::new(last_modified),
            Arc::new(size),
            Arc::new(e_tag),
            Arc::new(version),
        ],
    )
    .map_err(arrow_error)
}

fn schema_capsule<'py>(py: Python<'py>, schema: &Schema) -> PyResult<Bound<'py, PyCapsule>> {
    let ffi = FFI_ArrowSchema::try_from(schema).map_err(arrow_error)?;
    PyCapsule::new_with_value(py, ffi, c"arrow_schema")
}

fn stream_capsule<'py>(
    py: Python<'py>,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(reader));
    PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
}

static ARRO3: PyOnceLock<Option<Py<PyModule>>> = PyOnceLock::new();

fn arro3(py: Python<'_>) -> Option<&Bound<'_, PyModule>> {
    ARRO3
        .get_or_init(py, || py.import("arro3.core").ok().map(Bound::unbind))
        .as_ref()
        .map(|m| m.bind(py))
}

/// `value` as the arro3-core class `class` (converted without copying) when arro3-core is
/// installed, else `value` itself.
fn as_arro3<'py>(value: Bound<'py, PyAny>, class: &str) -> PyResult<Bound<'py, PyAny>> {
    match arro3(value.py()) {
        Some(module) => module.getattr(class)?.call_method1("from_arrow", (value,)),
        None => Ok(value),
    }
}

/// The `#[pymethods]` of a class of listing results, whose record batches `batches()` gives:
/// the Arrow PyCapsule exports named (`__arrow_c_stream__` and, for one batch,
/// `__arrow_c_array__`, each made by the method of the same name without underscores), the
/// schema, `num_rows`, `len` and `repr`.
macro_rules! arrow_listing_methods {
    ($class:ident, $name:literal, $(($export:ident, $capsules:ty, $make:ident)),*) => {
        #[pymethods]
        impl $class {
            $(
                #[pyo3(signature = (requested_schema = None))]
                fn $export<'py>(
                    &self,
                    py: Python<'py>,
                    requested_schema: Option<Bound<'py, PyAny>>,
                ) -> PyResult<$capsules> {
                    // The schema is always the listing's; a consumer casts if it wants another.
                    let _ = requested_schema;
                    self.$make(py)
                }
            )*

            fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
                schema_capsule(py, &list_schema())
            }

            /// The number of rows.
            #[getter]
            fn num_rows(&self) -> usize {
                self.batches().iter().map(RecordBatch::num_rows).sum()
            }

            fn __len__(&self) -> usize {
                self.num_rows()
            }

            fn __repr__(&self) -> String {
                format!(concat!($name, "(num_rows={})"), self.num_rows())
            }
        }
    };
}

/// The Arrow C stream of `batches`.
fn c_stream<'py>(py: Python<'py>, batches: &[RecordBatch]) -> PyResult<Bound<'py, PyCapsule>> {
    stream_capsule(py, list_schema(), batches.to_vec())
}

/// One record batch of listing results, exported through the Arrow PyCapsule interface.
#[pyclass(name = "ArrowRecordBatch", module = "obstore._obstore", frozen)]
pub struct ArrowChunk {
    batch: RecordBatch,
}

impl ArrowChunk {
    /// Builds the batch for `metas`.
    pub fn from_metas(metas: &[ObjectMeta]) -> PyResult<Self> {
        Ok(Self {
            batch: batch_from_metas(metas)?,
        })
    }

    /// An `arro3.core.RecordBatch` when arro3-core is installed, else this capsule-exporting object.
    pub fn into_record_batch(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        as_arro3(Bound::new(py, self)?.into_any(), "RecordBatch")
    }

    fn batches(&self) -> &[RecordBatch] {
        std::slice::from_ref(&self.batch)
    }

    fn arrow_c_stream<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        c_stream(py, self.batches())
    }

    /// The batch as an Arrow C array with its schema.
    fn arrow_c_array<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let data = arrow_array::Array::into_data(StructArray::from(self.batch.clone()));
        let (array, schema) = to_ffi(&data).map_err(arrow_error)?;
        let schema = PyCapsule::new_with_value(py, schema, c"arrow_schema")?;
        let array = PyCapsule::new_with_value(py, array, c"arrow_array")?;
        PyTuple::new(py, [schema.into_any(), array.into_any()])
    }
}

arrow_listing_methods!(
    ArrowChunk,
    "ArrowRecordBatch",
    (__arrow_c_stream__, Bound<'py, PyCapsule>, arrow_c_stream),
    (__arrow_c_array__, Bound<'py, PyTuple>, arrow_c_array)
);

/// A table of listing results, exported as an Arrow C stream.
#[pyclass(name = "ArrowTable", module = "obstore._obstore", frozen)]
pub struct ArrowTable {
    batches: Vec<RecordBatch>,
}

impl ArrowTable {
    /// Builds the table for `metas` (one batch).
    pub fn from_metas(metas: &[ObjectMeta]) -> PyResult<Self> {
        Ok(Self {
            batches: vec![batch_from_metas(metas)?],
        })
    }

    /// An `arro3.core.Table` when arro3-core is installed, else this stream-exporting object.
    pub fn into_table(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        as_arro3(Bound::new(py, self)?.into_any(), "Table")
    }

    fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }

    fn arrow_c_stream<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        c_stream(py, self.batches())
    }
}

arrow_listing_methods!(
    ArrowTable,
    "ArrowTable",
    (__arrow_c_stream__, Bound<'py, PyCapsule>, arrow_c_stream)
);
