// An empty program: the floor of any Deno entrypoint (bench/empty-entrypoint.sh).
