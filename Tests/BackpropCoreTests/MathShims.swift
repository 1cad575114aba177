#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Plain libm functions under names that do not collide with Backprop's tensor functions.
func Foundation_exp(_ x: Double) -> Double { exp(x) }
func Foundation_log(_ x: Double) -> Double { log(x) }
func Foundation_pow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
