(component
  (type $t (func (param "a" u32) (result u32)))
  (import "double" (func $double (type $t)))
  (component $inner
    (import "f" (func $f (param "a" u32) (result u32)))
    (export "g" (func $f)))
  (instance $x (instantiate $inner (with "f" (func $double))))
  (alias export $x "g" (func $g))
  (component $empty)
  (instance $y (instantiate $empty))
  (instance $bag (export "g" (func $g)))
  (export "bag" (instance $bag))
)
