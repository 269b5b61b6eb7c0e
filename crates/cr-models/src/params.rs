//! Visiting and rewriting a network's parameters by PyTorch key, in PyTorch layout.
//!
//! These three functions are the only way the rest of cr-models (files, introspection,
//! initialisation) touches parameters, so naming and layout stay consistent.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

use crate::layout::{ParamInfo, PathStack, from_torch, to_torch};

/// Every parameter's description, in visit order, without materialising lazily initialised
/// parameters (safe on a freshly built model of any declared size).
pub fn param_infos<M: Module>(net: &M) -> Vec<ParamInfo> {
    struct V {
        path: PathStack,
        out: Vec<ParamInfo>,
    }
    impl ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, ct: &str) {
            self.path.enter(name, ct);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let shape = p.lazy_shape();
            let dims: Vec<usize> = shape.to_vec();
            self.out.push(self.path.info(&dims));
        }
    }
    let mut v = V {
        path: PathStack::default(),
        out: Vec::new(),
    };
    net.visit(&mut v);
    v.out
}

/// Calls `f` with each parameter's description and its value in PyTorch layout, flattened.
/// The value is the parameter tensor itself (tracked when the model is on an autodiff device).
pub fn visit_params<M: Module>(net: &M, mut f: impl FnMut(&ParamInfo, Tensor<1>)) {
    struct V<'a> {
        path: PathStack,
        f: &'a mut dyn FnMut(&ParamInfo, Tensor<1>),
    }
    impl ModuleVisitor for V<'_> {
        fn enter_module(&mut self, name: &str, ct: &str) {
            self.path.enter(name, ct);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let t = p.val();
            let info = self.path.info(&t.dims());
            let flat = to_torch(info.kind, t);
            (self.f)(&info, flat);
        }
    }
    let mut v = V {
        path: PathStack::default(),
        f: &mut f,
    };
    net.visit(&mut v);
}

/// Rewrites parameters: `f` gets each parameter's description and current value (PyTorch
/// layout, flattened, detached) and returns a new flat value of the same length, or `None` to
/// keep it. New values are detached and keep the parameter's gradient requirement, device
/// association and id, so an optimiser's state stays attached.
pub fn map_params<M: Module>(
    net: M,
    mut f: impl FnMut(&ParamInfo, Tensor<1>) -> Option<Tensor<1>>,
) -> M {
    struct Mp<'a> {
        path: PathStack,
        f: &'a mut dyn FnMut(&ParamInfo, Tensor<1>) -> Option<Tensor<1>>,
    }
    impl ModuleMapper for Mp<'_> {
        fn enter_module(&mut self, name: &str, ct: &str) {
            self.path.enter(name, ct);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = p.consume();
            let dims = tensor.dims();
            let info = self.path.info(&dims);
            let flat = to_torch(info.kind, tensor.clone().detach());
            let tensor = match (self.f)(&info, flat) {
                Some(new) => {
                    let require_grad = tensor.is_require_grad();
                    let mut t = from_torch(info.kind, new, dims).detach();
                    if tensor.is_autodiff() {
                        t = t.autodiff();
                    }
                    if require_grad {
                        t = t.require_grad();
                    }
                    t
                }
                None => tensor,
            };
            Param::from_mapped_value(id, tensor, mapper)
        }
    }
    let mut m = Mp {
        path: PathStack::default(),
        f: &mut f,
    };
    net.map(&mut m)
}
