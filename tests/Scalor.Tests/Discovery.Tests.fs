/// Laws of discovery's rejection (the official test and the duplicate test among discoveries) and the object cap.
module Scalor.Tests.Discovery

open System
open Expecto
open TorchSharp
open Scalor.Model
open Scalor.Model.Store
open Scalor.Tests.ModelTensors

[<Tests>]
let tests =
    testSequenced <| testList "Rejection and cap" [
        let c = Config.toy64
        let mapOf (x: int) (y: int) (s: int) =
            let m = torch.zeros([| 1L; 1L; 1L; 64L; 64L |])
            m.narrow(3L, int64 y, int64 s).narrow(4L, int64 x, int64 s).fill_((0.9).ToScalar()) |> ignore
            m
        testPropertyWithConfig cfgProps "a proposal disjoint from propagated masks is accepted, one inside them rejected" <| fun (a: byte) (b: byte) ->
            let px, py = int a % 20, int b % 20
            let propagated = mapOf px py 20
            let inside = mapOf (px + 4) (py + 4) 8
            let disjoint = mapOf (px + 30) (py + 30) 8
            let acc: Tensor = Discovery.rejection c (torch.cat([| inside; disjoint |], 1L)) (propagated.expand(1L, 2L, 1L, 64L, 64L))
            acc.data<float32>().ToArray() = [| 0f; 1f |]

        testCase "rejection never adds objects: rejected cells get presence 0" <| fun () ->
            let pres = torch.tensor([| 0.9f; 0.8f; 0.95f |]).view(1L, 3L)
            let accept = torch.tensor([| 1f; 0f; 1f |]).view(1L, 3L)
            let after = pres * accept
            Expect.isTrue ((after.le(pres)).all().item<bool>()) "never larger"

        // Square 0/1 masks on a 16×16 image, flattened: [1; K; 256].
        let masks (boxes: (int * int * int) list) =
            torch.cat(
                boxes
                |> List.map (fun (x, y, s) ->
                    let m = torch.zeros([| 1L; 1L; 16L; 16L |])
                    m.narrow(2L, int64 y, int64 s).narrow(3L, int64 x, int64 s).fill_((1.0).ToScalar()) |> ignore
                    m.view(1L, 1L, 256L))
                |> Array.ofList, 1L)
        let amongWith (share: float) (boxes: (int * int * int) list) (pres: float32 list) (eligible: float32 list) =
            let k = int64 boxes.Length
            (Discovery.rejectAmong share (masks boxes) (torch.tensor(Array.ofList pres).view(1L, k)) (torch.tensor(Array.ofList eligible).view(1L, k))).data<float32>().ToArray()
        let among = amongWith Discovery.defaultDuplicateShare

        testCase "of two copies of one proposal the stronger survives, and on a tie the earlier one" <| fun () ->
            Expect.sequenceEqual (among [ 2, 2, 6; 2, 2, 6 ] [ 0.8f; 0.95f ] [ 1f; 1f ]) [| 0f; 1f |] "the stronger copy stays"
            Expect.sequenceEqual (among [ 2, 2, 6; 2, 2, 6 ] [ 0.9990f; 0.9995f ] [ 1f; 1f ]) [| 1f; 0f |] "presences within the tolerance: raster order"
            Expect.sequenceEqual (among [ 2, 2, 6; 2, 2, 6; 2, 2, 6 ] [ 0.9f; 0.9f; 0.9f ] [ 1f; 1f; 1f ]) [| 1f; 0f; 0f |] "one of three"

        testCase "proposals that overlap less than the rejection share, or that are not eligible, do not reject" <| fun () ->
            // 6×6 squares shifted by 5 columns share 1 of 6 columns (a sixth of each mask, under 0.3); shifted
            // by 4 they share a third, and the weaker goes.
            Expect.sequenceEqual (among [ 0, 0, 6; 5, 0, 6 ] [ 0.9f; 0.8f ] [ 1f; 1f ]) [| 1f; 1f |] "neighbours stay"
            Expect.sequenceEqual (among [ 0, 0, 6; 4, 0, 6 ] [ 0.9f; 0.8f ] [ 1f; 1f ]) [| 1f; 0f |] "a third covered: rejected"
            Expect.sequenceEqual (among [ 2, 2, 6; 2, 2, 6 ] [ 0.95f; 0.8f ] [ 0f; 1f ]) [| 1f; 1f |] "an ineligible copy rejects nothing"
            Expect.sequenceEqual (among [ 0, 0, 16; 5, 5, 4 ] [ 0.9f; 0.8f ] [ 1f; 1f ]) [| 1f; 0f |] "a proposal inside a stronger one goes"

        testCase "one stronger proposal must cover the share: neighbours do not add up; the share is a parameter" <| fun () ->
            // The weak 6×6 square at column 5 shares one column with each stronger neighbour: a sixth each, a
            // third together. A crowd is not a duplicate.
            Expect.sequenceEqual (among [ 0, 5, 6; 10, 5, 6; 5, 5, 6 ] [ 0.9f; 0.9f; 0.8f ] [ 1f; 1f; 1f ]) [| 1f; 1f; 1f |] "pairwise, not the union"
            Expect.sequenceEqual (amongWith 0.5 [ 0, 0, 6; 4, 0, 6 ] [ 0.9f; 0.8f ] [ 1f; 1f ]) [| 1f; 1f |] "a third covered stays at share 0.5"
            Expect.sequenceEqual (amongWith 0.5 [ 0, 0, 6; 2, 0, 6 ] [ 0.9f; 0.8f ] [ 1f; 1f ]) [| 1f; 0f |] "two thirds covered go at share 0.5"

        testPropertyWithConfig cfgProps "the test does not depend on the order of proposals with distinct presences" <| fun (seed: int) ->
            let rnd = Random(seed)
            let boxes = [ for _ in 1 .. 5 -> rnd.Next(0, 10), rnd.Next(0, 10), rnd.Next(3, 7) ]
            let pres = [ for i in 0 .. 4 -> 0.71f + 0.05f * float32 ((i * 3 + seed % 5 + 5) % 5) ]
            let eligible = [ for _ in 1 .. 5 -> if rnd.Next(4) = 0 then 0f else 1f ]
            let perm = [| 3; 0; 4; 1; 2 |]
            let pick (xs: 'a list) = [ for i in perm -> xs.[i] ]
            let direct = among boxes pres eligible
            let permuted = among (pick boxes) (pick pres) (pick eligible)
            Array.init 5 (fun i -> permuted.[i] = direct.[perm.[i]]) |> Array.forall id

        testCase "the training cap keeps the k largest" <| fun () ->
            let pres = torch.tensor([| 0.1f; 0.9f; 0.5f; 0.7f; 0.3f |]).view(1L, 5L)
            let keep = Discovery.cap 3 pres (torch.tensor([| 1f |]))
            Expect.sequenceEqual (keep.data<float32>().ToArray()) [| 0f; 1f; 0f; 1f; 0f |] "two free places: 0.9 and 0.7"
    ]
