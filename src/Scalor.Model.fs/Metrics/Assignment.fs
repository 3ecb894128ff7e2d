/// Optimal linear assignment (the Hungarian problem) by shortest augmenting paths with dual potentials
/// (Jonker–Volgenant / Kuhn–Munkres family, O(n²·m) for n ≤ m). Every tracking metric rests on it, so
/// there is no greedy shortcut anywhere.
module Scalor.Metrics.Assignment

/// Minimum-cost assignment on a dense, finite cost matrix [rows; cols]. Returns min(rows, cols) pairs
/// (row, col), sorted by row. Rectangular matrices are solved on the shorter side.
let minimise (cost: float[,]) : (int * int)[] =
    let rows, cols = Array2D.length1 cost, Array2D.length2 cost
    if rows = 0 || cols = 0 then [||]
    else
        let transposed = rows > cols
        let n, m = (if transposed then cols, rows else rows, cols)
        let a = if transposed then Array2D.init n m (fun i j -> cost.[j, i]) else cost
        // 1-based: u over rows, v over columns; column 0 is the virtual start of each augmenting path.
        let u = Array.zeroCreate<float> (n + 1)
        let v = Array.zeroCreate<float> (m + 1)
        let owner = Array.zeroCreate<int> (m + 1) // row assigned to column j (0 = free)
        let way = Array.zeroCreate<int> (m + 1)
        let minv = Array.zeroCreate<float> (m + 1)
        let used = Array.zeroCreate<bool> (m + 1)
        for i in 1 .. n do
            owner.[0] <- i
            let mutable j0 = 0
            System.Array.Fill(minv, System.Double.PositiveInfinity)
            System.Array.Fill(used, false)
            let mutable searching = true
            while searching do
                used.[j0] <- true
                let i0 = owner.[j0]
                let mutable delta = System.Double.PositiveInfinity
                let mutable j1 = 0
                for j in 1 .. m do
                    if not used.[j] then
                        let reduced = a.[i0 - 1, j - 1] - u.[i0] - v.[j]
                        if reduced < minv.[j] then
                            minv.[j] <- reduced
                            way.[j] <- j0
                        if minv.[j] < delta then
                            delta <- minv.[j]
                            j1 <- j
                for j in 0 .. m do
                    if used.[j] then
                        u.[owner.[j]] <- u.[owner.[j]] + delta
                        v.[j] <- v.[j] - delta
                    else minv.[j] <- minv.[j] - delta
                j0 <- j1
                searching <- owner.[j0] <> 0
            // Flip the augmenting path back to its start.
            while j0 <> 0 do
                let j1 = way.[j0]
                owner.[j0] <- owner.[j1]
                j0 <- j1
        [| for j in 1 .. m do
             if owner.[j] <> 0 then
                 let r, c = owner.[j] - 1, j - 1
                 yield (if transposed then (c, r) else (r, c)) |]
        |> Array.sortBy fst

/// Maximum-score assignment (TrackEval calls `linear_sum_assignment(-score)`).
let maximise (score: float[,]) : (int * int)[] = minimise (Array2D.map (fun s -> -s) score)

/// Total cost of an assignment.
let total (cost: float[,]) (pairs: (int * int)[]) = pairs |> Array.sumBy (fun (r, c) -> cost.[r, c])
