//! Long runs from Python: the work runs on a helper thread without the GIL
//! while the calling thread polls for Ctrl-C every few milliseconds; an
//! interrupt cancels the run between mini-batches and raises
//! KeyboardInterrupt. The user's callback sees each epoch and can stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use awd::distill::{EpochRecord, Flow, Progress};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::wavelets::to_python;

/// How often the calling thread looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(20);

/// The progress hook of a Python call.
pub struct PyProgress {
    callback: Option<Py<PyAny>>,
    cancel: AtomicBool,
    callback_error: Mutex<Option<PyErr>>,
}

impl PyProgress {
    /// A hook calling `callback(record)` after each epoch (if given).
    pub fn new(callback: Option<Py<PyAny>>) -> Self {
        PyProgress { callback, cancel: AtomicBool::new(false), callback_error: Mutex::new(None) }
    }

    fn take_error(&self) -> Option<PyErr> {
        self.callback_error.lock().map(|mut e| e.take()).unwrap_or(None)
    }

    /// Call the callback with `record` (as a dict): [`Flow::Stop`] when it
    /// returns False; an exception is kept (raised when the run ends) and
    /// cancels the run.
    pub fn notify(&self, record: &impl serde::Serialize) -> Flow {
        if self.cancel.load(Ordering::SeqCst) {
            return Flow::Stop;
        }
        let Some(cb) = &self.callback else { return Flow::Continue };
        Python::attach(|py| {
            let answer = to_python(py, record).and_then(|r| cb.call1(py, (r,)));
            match answer {
                Ok(v)
                    if v.bind(py).is_instance_of::<pyo3::types::PyBool>()
                        && !v.bind(py).is_truthy().unwrap_or(true) =>
                {
                    Flow::Stop
                }
                Ok(_) => Flow::Continue,
                Err(e) => {
                    if let Ok(mut slot) = self.callback_error.lock() {
                        slot.get_or_insert(e);
                    }
                    self.cancel.store(true, Ordering::SeqCst);
                    Flow::Stop
                }
            }
        })
    }
}

impl Progress for PyProgress {
    fn epoch_done(&self, record: &EpochRecord) -> Flow {
        self.notify(record)
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Run `work` on a helper thread, releasing the GIL, answering Ctrl-C
/// within [`SIGNAL_POLL`] plus one mini-batch. An exception raised by the
/// callback is re-raised as is.
pub fn run_interruptible<T, F>(py: Python<'_>, progress: &PyProgress, work: F) -> PyResult<awd::Result<T>>
where
    T: Send,
    F: FnOnce() -> awd::Result<T> + Send,
{
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let done_rx = Mutex::new(done_rx);
        let handle = scope.spawn(move || {
            let out = work();
            let _ = done_tx.send(());
            out
        });
        let mut interrupt = None;
        loop {
            let finished = py.detach(|| done_rx.lock().map(|r| r.recv_timeout(SIGNAL_POLL)).map_err(|_| ()));
            if !matches!(finished, Ok(Err(mpsc::RecvTimeoutError::Timeout))) {
                break;
            }
            if let Err(e) = py.check_signals() {
                progress.cancel.store(true, Ordering::SeqCst);
                interrupt = Some(e);
                let _ = py.detach(|| done_rx.lock().map(|r| r.recv()).map_err(|_| ()));
                break;
            }
        }
        let result = py.detach(|| handle.join());
        if let Some(e) = interrupt {
            return Err(e);
        }
        if let Some(e) = progress.take_error() {
            return Err(e);
        }
        result.map_err(|_| PyRuntimeError::new_err("awd: the computation panicked (a bug; please report it)"))
    })
}
