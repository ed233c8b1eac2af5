(module
  (func $swap (param i32 i64) (result i64 i32) local.get 1 local.get 0)
  (func (export "simd") (param v128) (result v128)
    (i32x4.add (local.get 0) (v128.const i32x4 1 2 3 4)))
  (func (export "multi") (result i64 i32)
    (block (result i64 i32) (call $swap (i32.const 1) (i64.const 2)))))
