/**
 * @file watchdog.h
 * @brief A stall watchdog: a process that makes no progress for too long ends itself with a
 *        message, instead of waiting forever in a collective for a rank that is gone.
 *
 * A killed node is noticed by MPI at once (its connections reset); a frozen or partitioned
 * one is not, and every other rank would block in its next allreduce for as long as TCP
 * keeps the connection. With `run.stall_seconds` = S > 0 the checkpointer arms this watchdog
 * (per process, SIGALRM through setitimer): every iteration boundary re-arms it, and when S
 * seconds pass without one, the process writes its message to stderr and _exit(1)s, which
 * makes mpirun/srun end the job. Nothing after the last checkpoint is lost; the message says
 * where it is. S must exceed the longest stretch between two boundaries (a phase's end-of-run
 * scores, a checkpoint write). Not thread-safe; one watchdog per process.
 */
#ifndef SAGD_WATCHDOG_H
#define SAGD_WATCHDOG_H

#ifdef __cplusplus
extern "C" {
#endif

/** Arm for `seconds` (> 0) with `message` (copied; a newline is added). */
int sagd_watchdog_start(double seconds, const char *message);
/** Progress: the next `seconds` start now. No-op when not armed. */
void sagd_watchdog_kick(void);
/** Replace the message (e.g. after a checkpoint). Safe against the handler firing meanwhile. */
void sagd_watchdog_message(const char *message);
/** Disarm and restore the previous SIGALRM disposition. No-op when not armed. */
void sagd_watchdog_stop(void);

#ifdef __cplusplus
}
#endif
#endif
