//! The processes of an MPI job (cargo feature `mpi`, over the system's MPI
//! through rsmpi) as a [`Collective`]: what [`crate::pipeline::fit_across`]
//! and [`crate::pipeline::sweep_across`] need, and nothing else.

use std::cell::Cell;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

use crate::distill::Collective;
use crate::error::{Error, Result};

/// MPI's world communicator; MPI is finalised when this is dropped.
pub struct Mpi {
    world: SimpleCommunicator,
    /// Sums made, values summed and seconds spent in them (waiting for the
    /// slowest rank included).
    traffic: Cell<Traffic>,
    // declared last: dropped (MPI_Finalize) after the communicator
    _universe: Universe,
}

impl Mpi {
    /// Initialise MPI (once per process). Outside `mpirun` / `srun` this is
    /// a world of one process.
    pub fn init() -> Result<Self> {
        let universe =
            mpi::initialize().ok_or_else(|| Error::Input("MPI was already initialised in this process".into()))?;
        Ok(Mpi { world: universe.world(), traffic: Cell::new(Traffic::default()), _universe: universe })
    }

    /// The sums made so far on this rank.
    pub fn traffic(&self) -> Traffic {
        self.traffic.get()
    }
}

/// What the collective sums of one rank cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    /// Calls (one per training step, plus one per epoch-0 evaluation).
    pub calls: u64,
    /// f64 values summed per call, at most (a training step sums batch size
    /// x (3 + 2 x filter length); the epoch-0 evaluation up to 4,096 x 3).
    pub values: usize,
    /// Wall seconds inside the sums.
    pub seconds: f64,
}

impl Collective for Mpi {
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn sum(&self, buf: &mut [f64]) -> Result<(), awd_core::Error> {
        let start = Instant::now();
        let send = buf.to_vec();
        self.world.all_reduce_into(&send[..], buf, SystemOperation::sum());
        let t = self.traffic.get();
        self.traffic.set(Traffic {
            calls: t.calls + 1,
            values: t.values.max(buf.len()),
            seconds: t.seconds + start.elapsed().as_secs_f64(),
        });
        Ok(())
    }
    fn all_equal(&self, value: u64) -> Result<bool, awd_core::Error> {
        let (mut lo, mut hi) = (0u64, 0u64);
        self.world.all_reduce_into(&value, &mut lo, SystemOperation::min());
        self.world.all_reduce_into(&value, &mut hi, SystemOperation::max());
        Ok(lo == hi)
    }
}
