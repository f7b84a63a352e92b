//! The processes of an MPI job (cargo feature `mpi`, over the system's MPI
//! through rsmpi) as a [`Collective`]: what [`crate::pipeline::fit_across`]
//! and [`crate::pipeline::sweep_across`] need, and nothing else.

use std::cell::Cell;
use std::time::Instant;

use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::{Communicator, CommunicatorCollectives};

use crate::distill::{Collective, Shard};
use crate::error::{Error, Result};

/// MPI's world communicator; MPI is finalised when this is dropped.
pub struct Mpi {
    world: Ranks,
    // declared last: dropped (MPI_Finalize) after the communicator
    _universe: Universe,
}

impl Mpi {
    /// Initialise MPI (once per process). Outside `mpirun` / `srun` this is
    /// a world of one process.
    pub fn init() -> Result<Self> {
        let universe =
            mpi::initialize().ok_or_else(|| Error::Input("MPI was already initialised in this process".into()))?;
        Ok(Mpi { world: Ranks::new(universe.world()), _universe: universe })
    }

    /// The sums made so far on this rank (in the world communicator).
    pub fn traffic(&self) -> Traffic {
        self.world.traffic()
    }

    /// Split the world into groups of `per_group` consecutive ranks: this
    /// rank's group (its rank 0 is the group's lowest world rank, so world
    /// rank 0 leads group 0) and the shard of the sweep's lambda chains it
    /// owns (group `g` of `G`: shard `g + 1`/`G`). A collective call; the
    /// same `per_group` on every rank, dividing the number of ranks.
    pub fn groups(&self, per_group: usize) -> Result<(Ranks, Shard)> {
        let size = self.size();
        if per_group == 0 || per_group > size || !size.is_multiple_of(per_group) {
            return Err(Error::Input(format!(
                "--ranks-per-fit {per_group} does not divide the {size} ranks into equal groups; give a divisor of \
                 {size} (1 spreads the lambda chains, {size} makes every fit data-parallel over all ranks)"
            )));
        }
        let group = self.rank() / per_group;
        let color = Color::with_value(i32::try_from(group).map_err(|_| Error::Input("too many groups".into()))?);
        let comm = self
            .world
            .comm
            .split_by_color(color)
            .ok_or_else(|| Error::Input("MPI could not split the world into groups".into()))?;
        let shard = Shard::new(group + 1, size / per_group)?;
        Ok((Ranks::new(comm), shard))
    }
}

impl Collective for Mpi {
    fn size(&self) -> usize {
        self.world.size()
    }
    fn rank(&self) -> usize {
        self.world.rank()
    }
    fn sum(&self, buf: &mut [f64]) -> Result<(), awd_core::Error> {
        self.world.sum(buf)
    }
    fn all_equal(&self, value: u64) -> Result<bool, awd_core::Error> {
        self.world.all_equal(value)
    }
}

/// The processes of one MPI communicator (the world, or a group of it) as a
/// [`Collective`], counting what its sums cost.
pub struct Ranks {
    comm: SimpleCommunicator,
    /// Sums made, values summed and seconds spent in them (waiting for the
    /// slowest rank included).
    traffic: Cell<Traffic>,
}

impl Ranks {
    fn new(comm: SimpleCommunicator) -> Self {
        Ranks { comm, traffic: Cell::new(Traffic::default()) }
    }

    /// The sums made so far on this rank in this communicator.
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

impl Collective for Ranks {
    fn size(&self) -> usize {
        self.comm.size() as usize
    }
    fn rank(&self) -> usize {
        self.comm.rank() as usize
    }
    fn sum(&self, buf: &mut [f64]) -> Result<(), awd_core::Error> {
        let start = Instant::now();
        let send = buf.to_vec();
        self.comm.all_reduce_into(&send[..], buf, SystemOperation::sum());
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
        self.comm.all_reduce_into(&value, &mut lo, SystemOperation::min());
        self.comm.all_reduce_into(&value, &mut hi, SystemOperation::max());
        Ok(lo == hi)
    }
}
