import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program and captures its exit status and output (for end-to-end tests of the command-line tool).
public struct CommandResult: Sendable {
    /// The exit status.
    public var status: Int32
    /// Everything written to standard output.
    public var output: String
    /// Everything written to standard error.
    public var errorOutput: String
}

public enum CommandRunner {
    /// The `backprop` executable next to the running test bundle.
    public static var backprop: String {
        var directory = CommandLine.arguments[0]
        if !directory.hasPrefix("/"), let cwd = getcwd(nil, 0) {
            // Absolute, because the runner changes directory before starting a program.
            directory = String(cString: cwd) + "/" + directory
            free(cwd)
        }
        // The test binary is `<bin>/BackpropPackageTests.xctest` (a file on Linux, a bundle on macOS).
        while let slash = directory.lastIndex(of: "/") {
            directory = String(directory[..<slash])
            if access(directory + "/backprop", X_OK) == 0 { return directory + "/backprop" }
        }
        return "backprop"
    }

    /// Runs `arguments[0]` with the rest as its arguments, in `directory`, and waits for it.
    public static func run(_ arguments: [String], in directory: String) -> CommandResult {
        let process = start(arguments, in: directory)
        return process.wait()
    }

    /// A started program.
    public struct Process: Sendable {
        /// Its process id (for signals).
        public let pid: pid_t
        let out: String, err: String

        /// What it has written to its standard output so far.
        public var outputSoFar: String { readText(out) }

        /// Waits up to `seconds` for it to end; if it has not, kills it (SIGKILL) and returns `nil`.
        public func wait(timeout seconds: Double) -> CommandResult? {
            guard pid > 0 else { return CommandResult(status: -1, output: "", errorOutput: "could not start") }
            var status: Int32 = 0
            for _ in 0..<Int(seconds * 100) {
                if waitpid(pid, &status, WNOHANG) == pid {
                    let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                    defer { unlink(out); unlink(err) }
                    return CommandResult(status: exitStatus, output: readText(out), errorOutput: readText(err))
                }
                usleep(10_000)
            }
            kill(pid, SIGKILL)
            _ = wait()
            return nil
        }

        /// Waits for it to end and collects its output.
        public func wait() -> CommandResult {
            guard pid > 0 else { return CommandResult(status: -1, output: "", errorOutput: "could not start") }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            defer { unlink(out); unlink(err) }
            return CommandResult(status: exitStatus, output: readText(out), errorOutput: readText(err))
        }
    }

    /// Starts `arguments[0]` with the rest as its arguments, in `directory`, without waiting.
    public static func start(_ arguments: [String], in directory: String) -> Process {
        let tag = UInt64.random(in: 0...UInt64.max)
        let out = directory + "/.stdout-\(tag)", err = directory + "/.stderr-\(tag)"
        #if canImport(Darwin)
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // The child changes directory itself (through sh): a chdir here would race with tests running in parallel.
        let arguments = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + arguments
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // Start the program as a shell would: no blocked signals, default dispositions.
        #if canImport(Darwin)
        var attributes: posix_spawnattr_t? = nil
        #else
        var attributes = posix_spawnattr_t()
        #endif
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t(), all = sigset_t()
        sigemptyset(&empty)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        #if canImport(Darwin)
        let environment = _NSGetEnviron().pointee
        #else
        let environment = environ
        #endif
        guard posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environment) == 0 else {
            return Process(pid: -1, out: out, err: err)
        }
        return Process(pid: pid, out: out, err: err)
    }

    /// A fresh temporary directory, removed with everything in it when the test process exits.
    public static func temporaryDirectory(_ name: String) -> String {
        var template = Array("/tmp/backprop-\(name)-XXXXXX".utf8CString)
        let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        createdDirectories.withLock { directories in
            if directories.isEmpty { atexit { CommandRunner.removeCreatedDirectories() } }
            directories.append(path)
        }
        return path
    }

    private static let createdDirectories = Mutex<[String]>([])

    private static func removeCreatedDirectories() {
        for directory in createdDirectories.withLock({ $0 }) {
            try? FileManager.default.removeItem(atPath: directory)  // what cannot be removed stays (it is only /tmp)
        }
    }

    /// Reads a whole file as UTF-8 text ("" when absent).
    public static func readText(_ path: String) -> String {
        String(decoding: readBytes(path) ?? [], as: UTF8.self)
    }

    /// Reads a whole file's bytes (`nil` when it cannot be opened).
    public static func readBytes(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }

    /// Writes text to a file.
    public static func writeText(_ text: String, to path: String) {
        guard let file = fopen(path, "wb") else { return }
        defer { fclose(file) }
        _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
    }

    /// Writes bytes to a file.
    public static func writeBytes(_ bytes: [UInt8], to path: String) {
        guard let file = fopen(path, "wb") else { return }
        defer { fclose(file) }
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    }
}
