fn main() {
    println!("gpvault");
}
