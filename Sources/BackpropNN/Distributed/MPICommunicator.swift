#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The processes an MPI launcher started (`mpirun -np N`, `mpiexec`, `srun`), over the MPI library found at run
/// time: a plain build of Backprop needs no MPI, and a process not started by a launcher never loads one.
///
/// The library is loaded with `dlopen` — Open MPI's `libmpi.so.40`, or the MPICH ABI's `libmpi.so.12` /
/// `libmpich.so.12` (MPICH, Intel MPI, Cray MPICH), or the one `BACKPROP_MPI_LIBRARY` names — and its handles are read the way each ABI defines them (Open MPI's
/// are addresses of the library's global objects, MPICH's fixed integers). Sums are `MPI_Allreduce` in place over
/// `MPI_COMM_WORLD`, at most ``elementsPerCall`` elements a call; a failing call aborts the whole job, as MPI's
/// default error handler does, so no process waits for one that is gone.
///
/// MPI is initialised once per process (``launched()``); call ``finalize()`` before the process exits.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    // @unchecked Sendable: the fields are set once, at initialisation; the handles are process-wide constants of the
    // MPI library, and MPI is initialised for calls from one thread at a time (MPI_THREAD_SERIALIZED).

    public let rank: Int
    public let size: Int
    /// The MPI library that was loaded, and its ABI.
    public let library: String
    /// The most elements one `MPI_Allreduce` sums (its count is a 32-bit integer); longer buffers take several calls.
    public static let elementsPerCall = 1 << 26

    private let functions: Functions

    /// The environment variables by which MPI launchers tell a process it is one of a job.
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"]

    /// This process's communicator when an MPI launcher started it, `nil` when none did (MPI is then not loaded).
    ///
    /// - Throws: ``DistributedError/mpiUnavailable(_:)`` when a launcher started the process but no MPI library can
    ///   be loaded, or ``DistributedError/mpiFailed(_:)`` when MPI does not initialise.
    public static func launched() throws(DistributedError) -> MPICommunicator? {
        try processCommunicator.get()
    }

    /// MPI can be initialised only once in a process, so its communicator is made once.
    private static let processCommunicator: Result<MPICommunicator?, DistributedError> = {
        guard let variable = launcherVariables.first(where: { getenv($0) != nil }) else { return .success(nil) }
        do throws(DistributedError) {
            return .success(try MPICommunicator(launchedBecause: variable))
        } catch {
            return .failure(error)
        }
    }()

    private init(launchedBecause variable: String) throws(DistributedError) {
        guard let (name, functions) = Functions.load() else {
            throw .mpiUnavailable("this process was started by an MPI launcher (\(variable) is set), but no MPI library could be loaded (tried \(Functions.candidates.joined(separator: ", "))): install Open MPI (Debian: apt-get install openmpi-bin) or MPICH")
        }
        self.functions = functions
        library = name
        var provided: Int32 = 0
        var initialised: Int32 = 0
        _ = functions.initialized(&initialised)
        if initialised == 0 {
            let serialized: Int32 = 2
            guard functions.initThread(nil, nil, serialized, &provided) == 0 else { throw .mpiFailed("MPI_Init_thread failed") }
        }
        var rank: Int32 = 0, size: Int32 = 0
        guard functions.commRank(&rank) == 0, functions.commSize(&size) == 0 else { throw .mpiFailed("MPI_Comm_rank failed") }
        self.rank = Int(rank)
        self.size = Int(size)
    }

    public func sum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try allReduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, stride: 4, type: .float)
    }

    public func sum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try allReduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, stride: 8, type: .double)
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int) throws {
        var offset = 0
        while offset < bytes.count {
            let count = Swift.min(bytes.count - offset, Self.elementsPerCall)
            guard functions.broadcast(bytes.baseAddress! + offset, Int32(count), .byte, Int32(root)) == 0 else {
                throw DistributedError.mpiFailed("MPI_Bcast failed")
            }
            offset += count
        }
    }

    /// Ends the job at once on every process, with exit status `code` (after an error on this one, so that no other
    /// process waits for it).
    public func abort(code: Int32) -> Never {
        _ = functions.abort(code)
        exit(code)
    }

    /// Finalises MPI; no communication may follow.
    public func finalize() {
        _ = functions.finalize()
    }

    private func allReduce(_ base: UnsafeMutableRawPointer?, count: Int, stride: Int, type: Functions.Datatype) throws {
        var offset = 0
        while offset < count {
            let part = Swift.min(count - offset, Self.elementsPerCall)
            guard functions.allReduceSum(base! + offset * stride, Int32(part), type) == 0 else {
                throw DistributedError.mpiFailed("MPI_Allreduce failed")
            }
            offset += part
        }
    }

    /// The MPI functions used, bound to one ABI's handles.
    private struct Functions {
        enum Datatype { case float, double, byte }

        static let libraryNames = ["libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so"]

        var initialized: (UnsafeMutablePointer<Int32>) -> Int32
        var initThread: (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>) -> Int32
        var commRank: (UnsafeMutablePointer<Int32>) -> Int32
        var commSize: (UnsafeMutablePointer<Int32>) -> Int32
        var allReduceSum: (UnsafeMutableRawPointer, Int32, Datatype) -> Int32
        var broadcast: (UnsafeMutableRawPointer, Int32, Datatype, Int32) -> Int32
        var abort: (Int32) -> Int32
        var finalize: () -> Int32

        typealias Initialized = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
        typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>) -> Int32
        typealias Finalize = @convention(c) () -> Int32

        /// The libraries tried: `BACKPROP_MPI_LIBRARY` (a name or path) when set, else ``libraryNames``.
        static var candidates: [String] {
            getenv("BACKPROP_MPI_LIBRARY").map { [String(cString: $0)] } ?? libraryNames
        }

        /// The first MPI library that loads, bound to its ABI, or `nil`.
        static func load() -> (String, Functions)? {
            for name in candidates {
                // RTLD_GLOBAL: Open MPI's components, loaded by the library itself, look up its symbols globally.
                guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else { continue }
                if let functions = openMPI(handle) ?? mpich(handle) { return ("\(name) (\(functions.1))", functions.0) }
                dlclose(handle)
            }
            return nil
        }

        private static func symbol<T>(_ handle: UnsafeMutableRawPointer, _ name: String, as type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }

        /// Open MPI: handles are pointers to the library's predefined objects; `MPI_IN_PLACE` is `(void *)1`.
        private static func openMPI(_ handle: UnsafeMutableRawPointer) -> (Functions, String)? {
            typealias Comm = OpaquePointer
            typealias RankOrSize = @convention(c) (Comm?, UnsafeMutablePointer<Int32>) -> Int32
            typealias AllReduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?, OpaquePointer?, Comm?) -> Int32
            typealias Broadcast = @convention(c) (UnsafeMutableRawPointer?, Int32, OpaquePointer?, Int32, Comm?) -> Int32
            typealias Abort = @convention(c) (Comm?, Int32) -> Int32
            guard let world = dlsym(handle, "ompi_mpi_comm_world").map(OpaquePointer.init),
                  let float = dlsym(handle, "ompi_mpi_float").map(OpaquePointer.init),
                  let double = dlsym(handle, "ompi_mpi_double").map(OpaquePointer.init),
                  let byte = dlsym(handle, "ompi_mpi_byte").map(OpaquePointer.init),
                  let sum = dlsym(handle, "ompi_mpi_op_sum").map(OpaquePointer.init),
                  let initialized = symbol(handle, "MPI_Initialized", as: Initialized.self),
                  let initThread = symbol(handle, "MPI_Init_thread", as: InitThread.self),
                  let rank = symbol(handle, "MPI_Comm_rank", as: RankOrSize.self),
                  let size = symbol(handle, "MPI_Comm_size", as: RankOrSize.self),
                  let allReduce = symbol(handle, "MPI_Allreduce", as: AllReduce.self),
                  let broadcast = symbol(handle, "MPI_Bcast", as: Broadcast.self),
                  let abort = symbol(handle, "MPI_Abort", as: Abort.self),
                  let finalize = symbol(handle, "MPI_Finalize", as: Finalize.self) else { return nil }
            let inPlace = UnsafeRawPointer(bitPattern: 1)
            func type(_ datatype: Datatype) -> OpaquePointer {
                switch datatype { case .float: float; case .double: double; case .byte: byte }
            }
            return (Functions(
                initialized: { initialized($0) }, initThread: { initThread($0, $1, $2, $3) },
                commRank: { rank(world, $0) }, commSize: { size(world, $0) },
                allReduceSum: { allReduce(inPlace, $0, $1, type($2), sum, world) },
                broadcast: { broadcast($0, $1, type($2), $3, world) },
                abort: { abort(world, $0) }, finalize: { finalize() }), "Open MPI ABI")
        }

        /// The MPICH ABI: handles are fixed integers (`mpi.h` of MPICH 3.1 and later); `MPI_IN_PLACE` is `(void *)-1`.
        private static func mpich(_ handle: UnsafeMutableRawPointer) -> (Functions, String)? {
            typealias RankOrSize = @convention(c) (Int32, UnsafeMutablePointer<Int32>) -> Int32
            typealias AllReduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Int32, Int32, Int32) -> Int32
            typealias Broadcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Int32, Int32, Int32) -> Int32
            typealias Abort = @convention(c) (Int32, Int32) -> Int32
            guard let initialized = symbol(handle, "MPI_Initialized", as: Initialized.self),
                  let initThread = symbol(handle, "MPI_Init_thread", as: InitThread.self),
                  let rank = symbol(handle, "MPI_Comm_rank", as: RankOrSize.self),
                  let size = symbol(handle, "MPI_Comm_size", as: RankOrSize.self),
                  let allReduce = symbol(handle, "MPI_Allreduce", as: AllReduce.self),
                  let broadcast = symbol(handle, "MPI_Bcast", as: Broadcast.self),
                  let abort = symbol(handle, "MPI_Abort", as: Abort.self),
                  let finalize = symbol(handle, "MPI_Finalize", as: Finalize.self) else { return nil }
            let world: Int32 = 0x4400_0000, sum: Int32 = 0x5800_0003
            let inPlace = UnsafeRawPointer(bitPattern: -1)
            func type(_ datatype: Datatype) -> Int32 {
                switch datatype { case .float: 0x4C00_040A; case .double: 0x4C00_080B; case .byte: 0x4C00_010D }
            }
            return (Functions(
                initialized: { initialized($0) }, initThread: { initThread($0, $1, $2, $3) },
                commRank: { rank(world, $0) }, commSize: { size(world, $0) },
                allReduceSum: { allReduce(inPlace, $0, $1, type($2), sum, world) },
                broadcast: { broadcast($0, $1, type($2), $3, world) },
                abort: { abort(world, $0) }, finalize: { finalize() }), "MPICH ABI")
        }
    }
}

/// A problem with the processes of distributed training.
public enum DistributedError: Error, Equatable, CustomStringConvertible {
    /// A launcher started the process, but no MPI library can be used; the message says which to install.
    case mpiUnavailable(String)
    /// An MPI call failed.
    case mpiFailed(String)
    /// The processes cannot train together as asked (the message says why).
    case mismatch(String)

    public var description: String {
        switch self {
        case .mpiUnavailable(let message), .mpiFailed(let message), .mismatch(let message): message
        }
    }
}
