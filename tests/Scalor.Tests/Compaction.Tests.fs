/// Compaction of the object slots (`Scalor.compact`): live objects first, in order, their ids kept.
module Scalor.Tests.Compaction

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "Compaction" [
        testPropertyWithConfig cfgProps "keeps survivors' ids, in order, and never duplicates one" <| fun (seed: int) ->
            let rng = Random(seed)
            let b, k = 3L, 12L
            let keepArr = Array.init (int (b * k)) (fun _ -> if rng.NextDouble() < 0.4 then 1f else 0f)
            let keep = torch.tensor(keepArr).view(b, k)
            let ids = torch.tensor(Array.init (int (b * k)) (fun i -> int64 i + 1L)).view(b, k)
            let field = torch.tensor(Array.init (int (b * k)) float32).view(b, k, 1L)
            let fields, ids', mask, from = Scalor.compact 100 keep [ field ] ids
            let ok =
                [ for bi in 0 .. int b - 1 do
                    let expected = [ for j in 0 .. int k - 1 do if keepArr.[bi * int k + j] = 1f then yield int64 (bi * int k + j + 1) ]
                    let got = [ for j in 0L .. ids'.shape.[1] - 1L do let v = ids'.[int64 bi, j].item<int64>() in if v <> 0L then yield v ]
                    yield expected = got && (List.distinct got).Length = got.Length ]
            let fieldMatches = maxDiff (fields.Head.squeeze(2L) + 1f) (ids'.to_type(torch.float32) * mask + (1f - mask)) < 1e-6
            // Each kept slot names its own position: the field held the position, so gathering it back agrees.
            let fromMatches = maxDiff (field.squeeze(2L).gather(1L, from) * mask) (fields.Head.squeeze(2L)) < 1e-6
            List.forall id ok && fieldMatches && fromMatches
    ]
