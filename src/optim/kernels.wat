;; Optimizer kernels over float32 arrays in one linear memory, 4 lanes at a time (WebAssembly
;; SIMD). Each operation is the graph form's nodes in the same order, each rounded to float32
;; as an ONNX node is, so the host update is bit for bit the in-graph one (tests check it).
;; Pointers are byte offsets; n counts floats and is rounded up to a multiple of 4: callers pad
;; every array to 16 bytes. Compiled to src/optim/kernels-wasm.ts by scripts/build-kernels.mjs.
(module
  (import "env" "memory" (memory 1))

  ;; dst = dst + src * c
  (func (export "axpy") (param $dst i32) (param $src i32) (param $n i32) (param $c f32)
    (local $i i32) (local $end i32) (local $C v128)
    (local.set $C (f32x4.splat (local.get $c)))
    (local.set $end (call $bytes (local.get $n)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $i)))
                   (f32x4.mul (v128.load (i32.add (local.get $src) (local.get $i))) (local.get $C))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

  ;; dst = dst + src
  (func (export "add") (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32) (local $end i32)
    (local.set $end (call $bytes (local.get $n)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $i)))
                   (v128.load (i32.add (local.get $src) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

  ;; dst = dst * c
  (func (export "scale") (param $dst i32) (param $n i32) (param $c f32)
    (local $i i32) (local $end i32) (local $C v128)
    (local.set $C (f32x4.splat (local.get $c)))
    (local.set $end (call $bytes (local.get $n)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.mul (v128.load (i32.add (local.get $dst) (local.get $i))) (local.get $C)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

  ;; Adam (torch.optim.Adam's order): m = m*b1 + g*(1-b1); v = v*b2 + (g*g)*(1-b2);
  ;; p = p - (m / (sqrt(v)*inv_sqrt_bc2 + eps)) * step_size
  (func (export "adam") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
        (param $b1 f32) (param $omb1 f32) (param $b2 f32) (param $omb2 f32)
        (param $inv_sqrt_bc2 f32) (param $eps f32) (param $step_size f32)
    (local $i i32) (local $end i32) (local $G v128) (local $M v128) (local $V v128)
    (local $B1 v128) (local $OMB1 v128) (local $B2 v128) (local $OMB2 v128)
    (local $IB v128) (local $EPS v128) (local $SS v128)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $OMB1 (f32x4.splat (local.get $omb1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $OMB2 (f32x4.splat (local.get $omb2)))
    (local.set $IB (f32x4.splat (local.get $inv_sqrt_bc2)))
    (local.set $EPS (f32x4.splat (local.get $eps)))
    (local.set $SS (f32x4.splat (local.get $step_size)))
    (local.set $end (call $bytes (local.get $n)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $G (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $M
        (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $B1))
                   (f32x4.mul (local.get $G) (local.get $OMB1))))
      (local.set $V
        (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $B2))
                   (f32x4.mul (f32x4.mul (local.get $G) (local.get $G)) (local.get $OMB2))))
      (v128.store (i32.add (local.get $m) (local.get $i)) (local.get $M))
      (v128.store (i32.add (local.get $v) (local.get $i)) (local.get $V))
      (v128.store (i32.add (local.get $p) (local.get $i))
        (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $i)))
          (f32x4.mul
            (f32x4.div (local.get $M)
              (f32x4.add (f32x4.mul (f32x4.sqrt (local.get $V)) (local.get $IB)) (local.get $EPS)))
            (local.get $SS))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

  ;; n floats, rounded up to whole vectors, in bytes
  (func $bytes (param $n i32) (result i32)
    (i32.shl (i32.and (i32.add (local.get $n) (i32.const 3)) (i32.const -4)) (i32.const 2)))
)
