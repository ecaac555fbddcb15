//! With the `tch` feature: an rpath to the libtorch the binary was linked against, so that it finds
//! libtorch's shared libraries at run time without LD_LIBRARY_PATH (torch-sys gives the final binary
//! none; it passes the directory to its direct dependents as DEP_TCH_LIBTORCH_LIB).

fn main() {
    // Runs once per fresh build directory, early (it needs no dependency): the first build compiles
    // burn, polars and faer, and a user should know why nothing else happens for a while.
    println!("cargo:warning=building specreg: a first build compiles burn, polars and faer (10–20 minutes on 2 cores); rebuilds take a minute or two");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
