// Helpers for the process's few helper threads (the ledger writer, the log writer): they batch
// work off the event loops and must not take a core away from one when both want it.
#pragma once

namespace hybridgate {

// Names the calling thread (as `top -H` and gdb show it; at most 15 characters) and puts it in
// SCHED_BATCH: it keeps its full share of CPU time, but its wake-ups no longer preempt an event
// loop that is running, which is what showed up as tail latency on a busy machine.
void MarkBackgroundThread(const char* name);

// Names the calling thread only (at most 15 characters; longer names are cut).
void NameThisThread(const char* name);

}  // namespace hybridgate
