#!/usr/bin/env python3
"""Canonical ABI oracle for tests/component/abi_*_test.cc.

Runs the Component Model's executable reference (canonical-abi/definitions.py,
imported from the directory given as the first argument, never copied) on the
cases the C++ test writes as JSON to stdin, and prints one JSON result per
case on stdout (a JSON list).

Case (JSON object):
  op: "store" | "lower_flat" | "load" | "lift_flat" | "lower_values" |
      "lift_values" | "flatten"
  type: a type (below); types: a list of types (lower_values / lift_values)
  enc: "utf8" | "utf16" | "latin1+utf16"
  mem: hex bytes of the initial memory
  heap: first address the test realloc hands out
  realloc: "ok" | "misalign" | "oob" (how the test realloc misbehaves)
  ptr: address (store / load); value / values: a value (below)
  flat: core values [["i32", n] | ["i64", n] | ["f32", bits] | ["f64", bits]]
  max_flat: for lower_values / lift_values; params, result: for flatten
  extra: handles [resource, rep, own] added after the starting table

Types: "bool" "s8" ... "string"; {"list": T, "len": n|0}; {"record": [[name, T]...]};
{"tuple": [T...]}; {"variant": [[name, T|null]...]}; {"enum": [names]};
{"option": T}; {"result": [T|null, T|null]}; {"flags": [names]};
{"own": R}; {"borrow": R} with R one of "A", "B" (defined by another
instance) or "S" (defined by the instance under test).

Values: bool, integers, chars as code points, floats as {"bits": n},
strings as {"s": text, "o": origin 0..3 (utf8, utf16, latin1,
latin1+utf16 tagged)}, lists and tuples and records as arrays, variant-like
as {"case": i, "v": payload|null}, flags as an integer, handles as the rep.

Every case starts with the same handle table: 1 own A rep 11, 2 own B rep 12,
3 borrow A rep 13, 4 own S rep 14, 5 own A rep 15, then for i in 6..24 a
handle of resource "ABS"[i % 3] with rep 100 + i, a borrow if i % 4 == 3,
else own.

Result: {"trap": true} or {"trap": false, "mem": hex, "log": [[old, old_size,
align, new_size]...], "flat": [...], "value": V, "values": [V...],
"borrows": n (borrow handles lowered), "lends": [num_lends of 1..24, -1 if
freed],
"live": handles in the table, "extra": the handles past the starting table
as [resource, rep, own] or null for a free slot}.
"""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])
import definitions as d  # noqa: E402

d.DETERMINISTIC_PROFILE = True

PRIMS = {
    'bool': d.BoolType, 's8': d.S8Type, 'u8': d.U8Type, 's16': d.S16Type, 'u16': d.U16Type,
    's32': d.S32Type, 'u32': d.U32Type, 's64': d.S64Type, 'u64': d.U64Type, 'f32': d.F32Type,
    'f64': d.F64Type, 'char': d.CharType, 'string': d.StringType,
}
TAG = 1 << 31
TABLE = 24  # handles in the starting table


class World:
    """One store, the instance under test, and resource types A, B, S."""

    def __init__(self):
        self.store = d.Store()
        self.inst = d.ComponentInstance(self.store)
        other = d.ComponentInstance(self.store)
        self.res = {'A': d.ResourceType(other), 'B': d.ResourceType(other),
                    'S': d.ResourceType(self.inst)}
        self.task = d.Task(None, None, self.inst, None, None)
        h = self.inst.handles
        h.add(d.ResourceHandle(self.res['A'], 11, own=True))
        h.add(d.ResourceHandle(self.res['B'], 12, own=True))
        h.add(d.ResourceHandle(self.res['A'], 13, own=False, borrow_scope=self.task))
        h.add(d.ResourceHandle(self.res['S'], 14, own=True))
        h.add(d.ResourceHandle(self.res['A'], 15, own=True))
        for i in range(6, TABLE + 1):
            r = self.res['ABS'[i % 3]]
            if i % 4 == 3:
                h.add(d.ResourceHandle(r, 100 + i, own=False, borrow_scope=self.task))
            else:
                h.add(d.ResourceHandle(r, 100 + i, own=True))

    def add_extra(self, extra):
        for name, rep, own in extra:
            self.inst.handles.add(d.ResourceHandle(self.res[name], rep, own=own,
                                                   borrow_scope=None if own else self.task))

    def extra(self):
        names = {id(r): n for n, r in self.res.items()}
        out = []
        for e in self.inst.handles.array[TABLE + 1:]:
            out.append(None if e is None else [names[id(e.rt)], e.rep, e.own])
        return out

    def ty(self, j):
        if isinstance(j, str):
            return PRIMS[j]()
        (k, v), = j.items() if len(j) == 1 else [(k, j[k]) for k in j if k != 'len']
        if k == 'list':
            return d.ListType(self.ty(v), j.get('len') or None)
        if k == 'record':
            return d.RecordType([d.FieldType(n, self.ty(t)) for n, t in v])
        if k == 'tuple':
            return d.TupleType([self.ty(t) for t in v])
        if k == 'variant':
            return d.VariantType([d.CaseType(n, None if t is None else self.ty(t)) for n, t in v])
        if k == 'enum':
            return d.EnumType(v)
        if k == 'option':
            return d.OptionType(self.ty(v))
        if k == 'result':
            return d.ResultType(*[None if t is None else self.ty(t) for t in v])
        if k == 'flags':
            return d.FlagsType(v)
        if k == 'own':
            return d.OwnType(self.res[v])
        if k == 'borrow':
            return d.BorrowType(self.res[v])
        raise ValueError(k)


def cases_of(t):
    """Labels and payload types of a variant-like type, despecialized."""
    t = d.despecialize(t)
    return [(c.label, c.t) for c in t.cases]


def to_py(j, t):
    t0 = t
    t = d.despecialize(t)
    if isinstance(t, (d.F32Type,)):
        return d.core_f32_reinterpret_i32(j['bits'])
    if isinstance(t, d.F64Type):
        return d.core_f64_reinterpret_i64(j['bits'])
    if isinstance(t, d.CharType):
        return chr(j)
    if isinstance(t, d.StringType):
        s, o = j['s'], j['o']
        if o == 0:
            return (s, 'utf8', len(s.encode('utf-8')))
        if o == 1:
            return (s, 'utf16', len(s.encode('utf-16-le')) // 2)
        if o == 2:
            return (s, 'latin1+utf16', len(s))
        return (s, 'latin1+utf16', (len(s.encode('utf-16-le')) // 2) | TAG)
    if isinstance(t, d.ListType):
        return [to_py(e, t.t) for e in j]
    if isinstance(t, d.RecordType):
        return {f.label: to_py(e, f.t) for f, e in zip(t.fields, j)}
    if isinstance(t, d.VariantType):
        c = t.cases[j['case']]
        return {c.label: None if c.t is None else to_py(j['v'], c.t)}
    if isinstance(t, d.FlagsType):
        return {l: bool(j >> i & 1) for i, l in enumerate(t.labels)}
    if isinstance(t, d.BoolType):
        return bool(j)
    del t0
    return j  # integers, handle reps


def from_py(v, t):
    t = d.despecialize(t)
    if isinstance(t, d.F32Type):
        return {'bits': d.core_i32_reinterpret_f32(v)}
    if isinstance(t, d.F64Type):
        return {'bits': d.core_i64_reinterpret_f64(v)}
    if isinstance(t, d.CharType):
        return ord(v)
    if isinstance(t, d.StringType):
        s, enc, tcu = v
        o = {'utf8': 0, 'utf16': 1}.get(enc)
        if o is None:
            o = 3 if tcu & TAG else 2
        return {'s': s, 'o': o}
    if isinstance(t, d.ListType):
        return [from_py(e, t.t) for e in v]
    if isinstance(t, d.RecordType):
        return [from_py(v[f.label], f.t) for f in t.fields]
    if isinstance(t, d.VariantType):
        (label, pv), = v.items()
        i = [c.label for c in t.cases].index(label)
        c = t.cases[i]
        return {'case': i, 'v': None if c.t is None else from_py(pv, c.t)}
    if isinstance(t, d.FlagsType):
        return sum(1 << i for i, l in enumerate(t.labels) if v[l])
    if isinstance(t, d.BoolType):
        return bool(v)
    return v


def flat_out(vals, types):
    out = []
    for v, ty in zip(vals, types):
        if ty == 'f32':
            out.append(['f32', d.core_i32_reinterpret_f32(v) if isinstance(v, float) else v])
        elif ty == 'f64':
            out.append(['f64', d.core_i64_reinterpret_f64(v) if isinstance(v, float) else v])
        else:
            out.append([ty, v])
    return out


def flat_in(j):
    out = []
    for ty, n in j:
        if ty == 'f32':
            out.append(d.core_f32_reinterpret_i32(n))
        elif ty == 'f64':
            out.append(d.core_f64_reinterpret_i64(n))
        else:
            out.append(n)
    return out


class Heap:
    """The test's bump allocator (the C++ test has the same)."""

    def __init__(self, mem, start, mode):
        self.mem = mem
        self.next = start
        self.mode = mode
        self.log = []

    def realloc(self, args):
        old, old_size, align, new_size = args
        self.log.append([old, old_size, align, new_size])
        if old != 0 and new_size <= old_size:
            p = old
        else:
            p = d.align_to(self.next, align)
            if p + new_size > len(self.mem):
                return [len(self.mem)]  # out of memory: the ABI's bounds check traps
            self.next = p + new_size
            n = min(old_size, new_size)
            self.mem[p:p + n] = self.mem[old:old + n]
        if self.mode == 'misalign' and align > 1:
            p += 1
        if self.mode == 'oob':
            p = len(self.mem) - 1 if len(self.mem) else 0
        return [p]


def flat_types(ts, opts):
    return d.flatten_types(ts, opts)


def run(case):
    w = World()
    w.add_extra(case.get('extra', []))
    mem = bytearray(bytes.fromhex(case.get('mem', '')))
    heap = Heap(mem, case.get('heap', 0), case.get('realloc', 'ok'))
    opts = d.CanonicalOptions()
    opts.memory = d.MemInst(mem, 'i32')
    opts.string_encoding = case.get('enc', 'utf8')
    opts.realloc = heap.realloc
    op = case['op']
    out = {'trap': False}
    if op == 'flatten':
        ft = d.FuncType([('p%d' % i, w.ty(t)) for i, t in enumerate(case['params'])],
                        [w.ty(case['result'])] if case.get('result') is not None else [])
        for ctx in ('lift', 'lower'):
            cft = d.flatten_functype(opts, ft, ctx)
            out[ctx] = [cft.params, cft.results]
        return out
    lowering = op in ('store', 'lower_flat', 'lower_values')
    cx = d.LiftLowerContext(opts, w.inst, w.task if lowering else d.Subtask())
    try:
        if op == 'store':
            t = w.ty(case['type'])
            d.store(cx, to_py(case['value'], t), t, case['ptr'])
        elif op == 'lower_flat':
            t = w.ty(case['type'])
            vals = d.lower_flat(cx, to_py(case['value'], t), t)
            out['flat'] = flat_out(vals, d.flatten_type(t, opts))
        elif op == 'lower_values':
            ts = [w.ty(t) for t in case['types']]
            vs = [to_py(v, t) for v, t in zip(case['values'], ts)]
            mf = case['max_flat']
            vals = d.lower_flat_values(cx, mf, vs, ts)
            fts = flat_types(ts, opts)
            out['flat'] = flat_out(vals, fts if len(fts) <= mf else ['i32'])
        elif op == 'load':
            t = w.ty(case['type'])
            out['value'] = from_py(d.load(cx, case['ptr'], t), t)
        elif op == 'lift_flat':
            t = w.ty(case['type'])
            vi = d.CoreValueIter(flat_in(case['flat']))
            out['value'] = from_py(d.lift_flat(cx, vi, t), t)
        elif op == 'lift_values':
            ts = [w.ty(t) for t in case['types']]
            vi = d.CoreValueIter(flat_in(case['flat']))
            vs = d.lift_flat_values(cx, case['max_flat'], vi, ts)
            out['values'] = [from_py(v, t) for v, t in zip(vs, ts)]
        else:
            raise ValueError(op)
    except d.Trap:
        return {'trap': True}
    out['mem'] = mem.hex()
    out['log'] = heap.log
    out['borrows'] = w.task.num_borrows
    out['lends'] = [w.inst.handles.array[i].num_lends if i < len(w.inst.handles.array) and
                    w.inst.handles.array[i] is not None else -1 for i in range(1, TABLE + 1)]
    out['live'] = sum(1 for e in w.inst.handles.array if e is not None)
    out['extra'] = w.extra()
    return out


def main():
    cases = json.load(sys.stdin)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == '__main__':
    main()
