fn main() {
    println!("alpaka");
}
