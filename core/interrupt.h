// Orderly interruption of long work (a tuning sweep) by SIGINT or SIGTERM: the first signal
// sets a process-wide flag that loops poll at safe points (between tries), so the work stops
// with every finished result stored and nothing half-written; a second signal of either kind
// ends the process at once (the default action).
#pragma once

namespace gqaforge {

/// Installs the SIGINT/SIGTERM handlers (idempotent). Without it, interrupted() stays false
/// unless request_interrupt() is called.
void install_interrupt_handlers();

/// True once SIGINT or SIGTERM arrived (or request_interrupt() was called).
bool interrupted();

/// The signal that interrupted (SIGINT or SIGTERM), 0 for request_interrupt() or none.
int interrupt_signal();

/// Sets the flag as a signal would (tests; a caller that wants to stop the work).
void request_interrupt();

/// Clears the flag (tests).
void clear_interrupt();

}  // namespace gqaforge
