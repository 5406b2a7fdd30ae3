/**
 * Facts of Docker's embedded DNS that parsers, checks and steps share: a module of constants
 * only, so that a pure module never imports a step's module to get one.
 */

/** Docker's embedded DNS server address inside every container on a user-defined network. */
export const DOCKER_EMBEDDED_DNS_IP = "127.0.0.11";
