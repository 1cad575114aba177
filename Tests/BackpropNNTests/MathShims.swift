#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func Foundation_log(_ x: Double) -> Double { log(x) }
func Foundation_exp(_ x: Double) -> Double { exp(x) }
