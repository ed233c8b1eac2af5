// Host setup for `jco run --jco-import <this file> cmd.component.wasm ...`:
// jco 1.35's `run` gives a command no preopened directory (its --sandbox
// options are not wired to the CLI). This module, imported before the
// command starts, preopens the directories named in ARCELLA_JCO_PREOPENS:
// entries "HOST::GUEST" separated by ';' (HOST alone means GUEST = HOST).
// The environment, arguments and stdio stay jco run's (the process's own).
import { _setPreopens, _addPreopen } from '@bytecodealliance/preview2-shim/filesystem';

_setPreopens({});
for (const entry of (process.env.ARCELLA_JCO_PREOPENS ?? '').split(';')) {
  if (!entry) continue;
  const sep = entry.indexOf('::');
  const host = sep === -1 ? entry : entry.slice(0, sep);
  const guest = sep === -1 ? entry : entry.slice(sep + 2);
  _addPreopen(guest, host);
}
