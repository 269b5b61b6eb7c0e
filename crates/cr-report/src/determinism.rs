//! The report's "Determinism" section: which devices the results came from and which numbers
//! are bit-reproducible where.

use std::collections::BTreeMap;
use std::fmt::Write as _;

fn is_cpu_device(device: &str) -> bool {
    device.contains("NdArray") || device.contains("Flex") || device.contains("Cpu")
}

/// The report's determinism section: the devices the results came from, and which numbers
/// are bit-reproducible on them.
pub fn determinism<'a>(run_devices: impl IntoIterator<Item = &'a str>) -> String {
    let mut devices: BTreeMap<&str, usize> = BTreeMap::new();
    for d in run_devices {
        let d = if d.is_empty() { "not recorded" } else { d };
        *devices.entry(d).or_default() += 1;
    }
    let list: Vec<String> = devices
        .iter()
        .map(|(d, n)| format!("`{d}` ({n} runs)"))
        .collect();
    let gpu = devices
        .keys()
        .any(|d| *d != "not recorded" && !is_cpu_device(d));
    let mut s = String::from("## Determinism\n\n");
    let _ = writeln!(s, "Devices: {}.\n", list.join(", "));
    s.push_str(
        "On one machine's CPU every number in this report is bit-identical for the same configs \
         and seeds: weights are initialised from a host ChaCha8 stream, data subsets, splits, \
         shuffling and augmentation and the attacks' random starts come from seeded host \
         generators, the CPU kernels sum in a fixed order whatever the number of threads, the \
         linear algebra (SVD, operator norms, compressibility, bounds) runs on the host in \
         faer on one thread (its blocked SVD would otherwise change its last bits with the \
         thread count), and the judge's bootstrap has a fixed seed; so running several runs \
         at once (`--jobs`) or on a machine with more cores gives the same numbers. `tests/catalogue.rs` checks same seed → same bytes; `tests/e2e.rs` \
         checks that a run killed at random moments resumes to identical results. **Across \
         machines this is not guaranteed**: the CPU kernels pick their SIMD path at run time \
         (AVX-512 where the CPU has it, AVX2 otherwise), which changes the rounding of every \
         matrix product, so two CPUs of different kinds train slightly different models and a \
         verdict near its threshold can change between them.\n\n",
    );
    s.push_str(if gpu {
        "**Some of these runs are GPU runs, whose numbers are not bit-reproducible**: "
    } else {
        "On a GPU (`--device cuda` or `vulkan`) these are not bit-reproducible: "
    });
    s.push_str(
        "the training losses and accuracies, the trained weights and therefore every number \
         computed from them (clean and robust accuracy, compressibility, bounds, gaps, pruning \
         curves), and an attack's result even on fixed weights (a sample near the decision \
         boundary can flip), because GPU kernels do not fix their floating-point summation \
         order (parallel reductions, kernels chosen by autotuning). The same on \
         every device: the initial weights, the data and its order, the attacks' random \
         starts, and for given weights everything computed on the host (SVD, norms, \
         compressibility, bounds). Differences between two GPU runs are at rounding level per \
         step but compound over training; compare GPU runs through their means over seeds.\n\n",
    );
    s
}
