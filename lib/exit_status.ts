/**
 * The exit statuses the entrypoint takes from the programs it stands in for, in one table: a
 * boot that stops exits as kind's bash would have at that point.
 */

/** mount(8): the mount failed. */
export const EXIT_MOUNT_FAILURE = 32;
/** timeout(1): the command reached its time bound. */
export const EXIT_TIMED_OUT = 124;
/** bash: the command exists but cannot be executed (also: this runtime cannot exec at all). */
export const EXIT_CANNOT_EXECUTE = 126;
/** bash: the command was not found. */
export const EXIT_NOT_FOUND = 127;
